package dev.pgkeyset.connect.pg;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.SocketFactory;

/**
 * pgjdbc's {@code socketFactory} for the replication connection: plain sockets that note when they
 * last received a byte. A replication stream is read without blocking, so a network that silently
 * stops passing bytes would look like an idle server forever; this is how the stream tells the two
 * apart (see {@link ReplicationConnection#nanosSinceLastRead()}). pgjdbc instantiates the class by
 * name with {@code socketFactoryArg}, the key of one connection's clock here.
 */
public final class ActivitySocketFactory extends SocketFactory {

    private static final Map<String, AtomicLong> LAST_READ = new ConcurrentHashMap<>();

    private final AtomicLong lastRead;

    /** Called by pgjdbc with {@code socketFactoryArg}. */
    public ActivitySocketFactory(String key) {
        this.lastRead = LAST_READ.computeIfAbsent(key, k -> new AtomicLong(System.nanoTime()));
    }

    /**
     * A new clock's key, for {@code socketFactoryArg}. The clock itself starts when pgjdbc creates
     * the factory: if a {@code socketFactory} in the user's URL wins over ours, there is none.
     */
    static String newKey() {
        return UUID.randomUUID().toString();
    }

    /**
     * {@link System#nanoTime()} of the last byte read on the connection of {@code key} (of its
     * creation before the first), or null when this factory did not make its socket.
     */
    static Long lastReadNanos(String key) {
        AtomicLong clock = LAST_READ.get(key);
        return clock == null ? null : clock.get();
    }

    static void unregister(String key) {
        LAST_READ.remove(key);
    }

    @Override
    public Socket createSocket() {
        return new ActivitySocket(lastRead);
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        Socket socket = createSocket();
        socket.connect(new InetSocketAddress(host, port));
        return socket;
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        Socket socket = createSocket();
        socket.bind(new InetSocketAddress(localHost, localPort));
        socket.connect(new InetSocketAddress(host, port));
        return socket;
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        Socket socket = createSocket();
        socket.connect(new InetSocketAddress(host, port));
        return socket;
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        Socket socket = createSocket();
        socket.bind(new InetSocketAddress(localAddress, localPort));
        socket.connect(new InetSocketAddress(address, port));
        return socket;
    }

    private static final class ActivitySocket extends Socket {

        private final AtomicLong lastRead;
        private InputStream in;

        ActivitySocket(AtomicLong lastRead) {
            this.lastRead = lastRead;
        }

        @Override
        public synchronized InputStream getInputStream() throws IOException {
            if (in == null) {
                in = new FilterInputStream(super.getInputStream()) {
                    @Override
                    public int read() throws IOException {
                        int b = super.read();
                        if (b >= 0) {
                            lastRead.set(System.nanoTime());
                        }
                        return b;
                    }

                    @Override
                    public int read(byte[] buffer, int offset, int length) throws IOException {
                        int n = super.read(buffer, offset, length);
                        if (n > 0) {
                            lastRead.set(System.nanoTime());
                        }
                        return n;
                    }
                };
            }
            return in;
        }
    }
}
