package io.gradus.host;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Set;

/**
 * The secret that authorises the console's mutating calls (installing a bundle is running code).
 * A new one is made at every start and written to a file only its owner can read, next to the
 * console's address: together they tell the command line how to reach the running host.
 */
public final class ConsoleToken {

    /** Name of the token file in the state folder. */
    public static final String FILE_NAME = "console.token";
    /** Name of the file in the state folder that holds the console's base URL while it listens. */
    public static final String URL_FILE_NAME = "console.url";

    private ConsoleToken() {}

    /** Makes a fresh 256-bit token and writes it to {@code stateDir/console.token} (mode 600). */
    static String create(Path stateDir) throws IOException {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        writeOwnerOnly(stateDir.resolve(FILE_NAME), token);
        return token;
    }

    /** Writes the console's base URL to {@code stateDir/console.url} (mode 600). */
    static void writeUrl(Path stateDir, String url) throws IOException {
        writeOwnerOnly(stateDir.resolve(URL_FILE_NAME), url);
    }

    private static void writeOwnerOnly(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.deleteIfExists(file);
        // Create the file with its final permissions, so it is never readable by others, not even briefly.
        FileAttribute<?>[] ownerOnly = FileSystems.getDefault().supportedFileAttributeViews().contains("posix")
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
                : new FileAttribute<?>[0];
        try (SeekableByteChannel out = Files.newByteChannel(
                file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), ownerOnly)) {
            out.write(ByteBuffer.wrap((text + "\n").getBytes(StandardCharsets.UTF_8)));
        }
    }
}
