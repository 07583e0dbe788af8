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
 * {@code java -cp <quickstart jar> dev.pgkeyset.quickstart.ReadTopic [--kafka-port N] TOPIC [MAX]}: prints a topic of
 * the running quickstart from its beginning (key, value, headers of each record) and follows it,
 * so a newcomer can look at records without installing Kafka's tools. Stops after MAX records.
 */
public final class ReadTopic {

    private ReadTopic() {
    }

    public static void main(String[] args) {
        int port = EmbeddedKafka.DEFAULT_PORT;
        if (args.length >= 2 && args[0].equals("--kafka-port")) {
            port = Integer.parseInt(args[1]);
            args = java.util.Arrays.copyOfRange(args, 2, args.length);
        }
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: java -cp <quickstart jar> " + ReadTopic.class.getName()
                    + " [--kafka-port N] TOPIC [MAX]");
            System.exit(2);
        }
        long max = args.length == 2 ? Long.parseLong(args[1]) : Long.MAX_VALUE;
        TopicPartition partition = new TopicPartition(args[0], 0);
        long printed = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, EmbeddedKafka.bootstrap(port)),
                new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            while (printed < max) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofSeconds(1))) {
                    System.out.println("offset " + record.offset() + "\n  key:     " + record.key()
                            + "\n  value:   " + record.value() + "\n  headers: " + SampleRecord.headers(record.headers()));
                    if (++printed >= max) {
                        break;
                    }
                }
            }
        }
    }
}
