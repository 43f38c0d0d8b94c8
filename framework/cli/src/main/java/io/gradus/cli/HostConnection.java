package io.gradus.cli;

import io.gradus.host.ConsoleToken;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;

/**
 * The host that {@code gradus start} runs on this distribution, found through its state folder:
 * it holds the folder's lock and has written its console's URL and token there.
 *
 * @param console the console's base URL
 * @param token the console token, for the calls that change the running system
 */
record HostConnection(URI console, String token) {

    /** The running host of {@code stateDir}, if one holds its lock and its console answers. */
    static Optional<HostConnection> find(Path stateDir) {
        Path lockFile = stateDir.resolve("host.lock");
        Path urlFile = stateDir.resolve(ConsoleToken.URL_FILE_NAME);
        Path tokenFile = stateDir.resolve(ConsoleToken.FILE_NAME);
        if (!Files.isRegularFile(lockFile) || !Files.isRegularFile(urlFile) || !Files.isRegularFile(tokenFile)
                || !locked(lockFile)) {
            return Optional.empty();
        }
        try (HttpClient http = HttpClient.newHttpClient()) {
            HostConnection host = new HostConnection(URI.create(Files.readString(urlFile).strip()),
                    Files.readString(tokenFile).strip());
            HttpResponse<Void> answer = http.send(HttpRequest.newBuilder(host.api("jobs"))
                    .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.discarding());
            return answer.statusCode() == 200 ? Optional.of(host) : Optional.empty();
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** The URL of {@code /api/PATH}. */
    URI api(String path) {
        return console.resolve("api/" + path);
    }

    /** Whether another host (process, or this JVM) holds the state folder's lock. */
    private static boolean locked(Path lockFile) {
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock lock = channel.tryLock();
            if (lock == null) {
                return true;
            }
            lock.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
