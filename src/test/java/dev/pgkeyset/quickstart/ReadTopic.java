package dev.pgkeyset.quickstart;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * {@code java -cp <quickstart jar> dev.pgkeyset.quickstart.ReadTopic TOPIC [MAX]}: prints a topic of
 * the running quickstart from its beginning (key, value, headers of each record) and follows it,
 * so a newcomer can look at records without installing Kafka's tools. Stops after MAX records.
 */
public final class ReadTopic {

    private ReadTopic() {
    }

    public static void main(String[] args) {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: java -cp <quickstart jar> " + ReadTopic.class.getName() + " TOPIC [MAX]");
            System.exit(2);
        }
        long max = args.length == 2 ? Long.parseLong(args[1]) : Long.MAX_VALUE;
        TopicPartition partition = new TopicPartition(args[0], 0);
        long printed = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, EmbeddedKafka.BOOTSTRAP),
                new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            while (printed < max) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofSeconds(1))) {
                    System.out.println("offset " + record.offset() + "\n  key:     " + record.key()
                            + "\n  value:   " + record.value() + "\n  headers: " + headers(record));
                    if (++printed >= max) {
                        break;
                    }
                }
            }
        }
    }

    private static String headers(ConsumerRecord<String, String> record) {
        StringBuilder text = new StringBuilder();
        for (Header header : record.headers()) {
            text.append(text.isEmpty() ? "" : ", ").append(header.key()).append('=')
                    .append(header.value() == null ? "null" : new String(header.value(),
                            java.nio.charset.StandardCharsets.UTF_8));
        }
        return text.isEmpty() ? "(none)" : text.toString();
    }
}
