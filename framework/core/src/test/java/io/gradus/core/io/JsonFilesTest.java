package io.gradus.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.core.fuzz.CleanLoad;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("JSON files as Python's json module reads them")
class JsonFilesTest {

    @TempDir
    Path dir;

    private String refusal(byte[] content) throws IOException {
        Path file = dir.resolve("config.json");
        Files.write(file, content);
        try {
            JsonFiles.read(file);
        } catch (IOException e) {
            CleanLoad.assertReadable(e.getMessage());
            return e.getMessage();
        }
        throw new AssertionError("read " + new String(content, StandardCharsets.UTF_8));
    }

    @Test
    @DisplayName("one document per file: anything after it but white space is refused, with the line and column")
    void oneDocument() throws IOException {
        Path file = dir.resolve("config.json");
        assertThat(refusal("{\"a\": 1}\n\"b\"".getBytes(StandardCharsets.UTF_8))).startsWith(file + ": not valid JSON: line 2, ")
                .endsWith(": more follows the end of the JSON document; a file holds one document");
        assertThat(refusal("{\"a\": 1} {\"a\": 2}".getBytes(StandardCharsets.UTF_8))).contains("more follows the end");
        Files.writeString(file, "{\"a\": 1}\n  \n");
        assertThat(JsonFiles.read(file).get("a").asInt()).isEqualTo(1);
    }

    @Test
    @DisplayName("UTF-8 only: bytes that are not, or four zero bytes the parser would take for UTF-32, are refused naming the file and line")
    void utf8Only() throws IOException {
        Path file = dir.resolve("config.json");
        assertThat(refusal(new byte[] {0, 0, 0, 0, '{', '}'})).startsWith(file + ": not valid JSON: ");
        assertThat(refusal(new byte[] {'{', '\n', '"', (byte) 0xE9, '"', ':', '1', '}'})).isEqualTo(file
                + ": line 2: not UTF-8 text; save the file as UTF-8");
        assertThatThrownBy(() -> JsonFiles.read(dir.resolve("none.json"))).hasMessageContaining("none.json");
    }
}
