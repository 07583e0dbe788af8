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

    /** A run in the background, as a user leaves it running; its standard output goes to a file. */
    static final class Live {
        private final Process process;
        private final Path out;

        Live(Process process, Path out) {
            this.process = process;
            this.out = out;
        }

        /** Waits until a line of the output matches (the output so far when it does not within the time). */
        List<String> awaitLine(java.util.function.Predicate<String> line, java.time.Duration within)
                throws Exception {
            long deadline = System.nanoTime() + within.toNanos();
            List<String> lines = Files.readAllLines(out);
            while (lines.stream().noneMatch(line) && process.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(200);
                lines = Files.readAllLines(out);
            }
            assertTrue(lines.stream().anyMatch(line), "the quickstart printed the awaited line: " + lines);
            return lines;
        }

        /** SIGTERM (what Ctrl-C does to the JVM's shutdown hooks), then its whole output. */
        List<String> stop() throws Exception {
            process.destroy();
            if (!process.waitFor(90, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
            List<String> lines = Files.readAllLines(out);
            Files.deleteIfExists(out);
            return lines;
        }
    }

    Live startLive(Map<String, String> env, String... args) throws IOException {
        Path out = Files.createTempFile(Path.of("target"), "quickstart-live", ".out");
        return new Live(start(env, out, args), out);
    }

    /** --kafka-port and --rest-port on ports free now: a test never takes the quickstart's defaults. */
    static List<String> freePorts() throws IOException {
        int kafka = Ports.free();
        int rest = Ports.free();
        while (rest == kafka) {
            rest = Ports.free();
        }
        return List.of("--kafka-port", Integer.toString(kafka), "--rest-port", Integer.toString(rest));
    }

    static String[] args(List<String> first, String... more) {
        List<String> all = new ArrayList<>(first);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
