package dev.pgkeyset.quickstart;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * The quickstart's listening ports. Kafka and the REST API keep their well-known defaults (the
 * first screen, the README and a user's own tools name them); when one is taken the quickstart stops
 * with the port and the option to choose another, rather than moving silently: a consumer started
 * against localhost:9092 would then read another Kafka's topics, and the usual cause is a second
 * quickstart still running, which the person should know about.
 */
final class Ports {

    private Ports() {
    }

    static void requireFree(int port, String what, String option) throws Quickstart.Failure {
        if (!isFree(port)) {
            throw new Quickstart.Failure("port " + port + " (" + what + ") is taken on localhost, perhaps by another "
                    + "quickstart or a Kafka of yours: stop it, or choose another port with " + option + " N", 1);
        }
    }

    static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    /** A port nothing listens on now, chosen by the OS. */
    static int free() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    static int parse(String value, String option) throws Quickstart.Failure {
        try {
            int port = Integer.parseInt(value);
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new Quickstart.Failure(option + " takes a port number from 1 to 65535, not '" + value + "'", 2);
    }
}
