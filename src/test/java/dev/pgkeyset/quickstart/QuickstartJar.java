package dev.pgkeyset.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The quickstart jar that {@code mvn package} wrote, run as a user runs it: {@code java -jar …}. */
final class QuickstartJar {

    record Run(int exitCode, List<String> stdout, String stderr) {
        String lastLine() {
            return stdout.isEmpty() ? "" : stdout.get(stdout.size() - 1);
        }
    }

    private final Path jar;

    private QuickstartJar(Path jar) {
        this.jar = jar;
    }

    static QuickstartJar locate() throws IOException {
        List<Path> jars = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(Path.of("target"), "*-quickstart.jar")) {
            files.forEach(jars::add);
        }
        assertEquals(1, jars.size(), "mvn package writes one quickstart jar: " + jars);
        return new QuickstartJar(jars.get(0));
    }

    /**
     * Runs the jar to its end. {@code env} holds the variables to set over this JVM's; a null value
     * removes the variable.
     */
    Run run(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("-jar", jar.toString()));
        command.addAll(List.of(args));
        return await(env, command);
    }

    /** Runs another main class of the jar, as the quickstart's first screen tells a user to. */
    Run runClass(String mainClass, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("-cp", jar.toString(), mainClass));
        command.addAll(List.of(args));
        return await(Map.of(), command);
    }

    /** Starts the jar without waiting; its standard output goes to {@code stdout}, its errors are dropped. */
    Process start(Map<String, String> env, Path stdout, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("-jar", jar.toString()));
        command.addAll(List.of(args));
        return builder(env, command).redirectOutput(stdout.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    private static ProcessBuilder builder(Map<String, String> env, List<String> javaArgs) {
        // As the failsafe JVM: the quickstart's runs are short, so C1 alone and a simple collector start faster.
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        command.addAll(javaArgs);
        ProcessBuilder builder = new ProcessBuilder(command);
        env.forEach((name, value) -> {
            if (value == null) {
                builder.environment().remove(name);
            } else {
                builder.environment().put(name, value);
            }
        });
        return builder;
    }

    private Run await(Map<String, String> env, List<String> javaArgs) throws Exception {
        ProcessBuilder builder = builder(env, javaArgs);
        Path out = Files.createTempFile("quickstart", ".out");
        Path err = Files.createTempFile("quickstart", ".err");
        try {
            Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            boolean finished = process.waitFor(4, TimeUnit.MINUTES);
            if (!finished) {
                process.destroyForcibly().waitFor();
            }
            Run run = new Run(process.exitValue(), Files.readAllLines(out), Files.readString(err));
            assertTrue(finished, "the quickstart finished within 4 minutes: " + run);
            return run;
        } finally {
            Files.delete(out);
            Files.delete(err);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
