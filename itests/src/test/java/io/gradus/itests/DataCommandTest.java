package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.cli.Gradus;
import io.gradus.core.fuzz.CleanLoad;
import io.gradus.core.tokenizer.HfTokenizer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("gradus data")
class DataCommandTest {

    /** The tiny model's special tokens (TinyJob's config.json). */
    private static final int BOS = 259;
    private static final int EOS = 260;

    @TempDir
    static Path dir;

    @BeforeAll
    static void jobAndData() throws Exception {
        System.setProperty("gradus.home", System.getProperty("gradus.distribution"));
        TinyJob.write(dir);
        Files.writeString(dir.resolve("sft.jsonl"), """
                {"prompt": "What is a cat?", "completion": " A small animal."}
                {"text": "the dog ran."}

                {"prompt": "Say nothing.", "completion": ""}
                {"prompt": "Never shown", "completion": " with --records 3"}
                """);
        Files.writeString(dir.resolve("job.yaml"), TinyJob.yaml(10, "out").replace("objective: {name: pretrain}",
                "objective: {name: sft}").replace("train: train.jsonl", "train: sft.jsonl"));
    }

    private record Run(int exit, String out, String err) {}

    private static Run gradus(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Gradus.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    /** A shown token: its id and whether it was marked trained. */
    private record Shown(int id, boolean trained) {}

    private static final Pattern PLAIN_TOKEN = Pattern.compile("(\\[)?.*?\\((\\d+)\\)(\\])?(?: |$)");

    /** The tokens of one record's line of plain output. */
    private static List<Shown> parse(String line) {
        List<Shown> tokens = new ArrayList<>();
        Matcher m = PLAIN_TOKEN.matcher(line);
        while (m.find() && !m.group().isEmpty()) {
            assertThat(m.group(1) == null).as("brackets in pairs: " + m.group()).isEqualTo(m.group(3) == null);
            tokens.add(new Shown(Integer.parseInt(m.group(2)), m.group(1) != null));
        }
        return tokens;
    }

    /** BOS, the tokens of {@code context} untrained, then those of {@code trained} and EOS trained. */
    private static List<Shown> expected(HfTokenizer tokenizer, String context, String trained) {
        List<Shown> tokens = new ArrayList<>(List.of(new Shown(BOS, false)));
        IntStream.of(tokenizer.tokenize(context, false).ids()).forEach(id -> tokens.add(new Shown(id, false)));
        IntStream.of(tokenizer.tokenize(trained, false).ids()).forEach(id -> tokens.add(new Shown(id, true)));
        tokens.add(new Shown(EOS, true));
        return tokens;
    }

    @Test
    @DisplayName("shows the first N records as the objective encodes them, trained tokens in brackets, with a legend and a warning for an empty completion")
    void showsTheEncoding() throws Exception {
        Run run = gradus("data", dir.resolve("job.yaml").toString(), "--records", "3");
        assertThat(run.exit()).as(run.err()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines.subList(0, 3)).containsExactly(
                "job tiny: objective sft 0.1.0",
                dir.resolve("sft.jsonl") + ": the first 3 records as the objective encodes them",
                "legend: [token(id)] trained, token(id) masked (no loss)");
        assertThat(run.out()).doesNotContain("\u001b[").doesNotContain("Never shown");

        try (HfTokenizer tokenizer = HfTokenizer.load(dir.resolve("base"))) {
            // Prompt and completion: the prompt is context, the completion and EOS train (TRL's default).
            List<Shown> first = expected(tokenizer, "What is a cat?", " A small animal.");
            assertThat(lines.get(4)).isEqualTo("line 1: %d tokens, %d trained", first.size(),
                    first.stream().filter(Shown::trained).count());
            assertThat(parse(lines.get(5))).isEqualTo(first);
            assertThat(lines.get(5)).startsWith("<|bos|>(259) ").endsWith(" [<|eos|>(260)]");
            // A text record: every token after the first trains.
            List<Shown> second = expected(tokenizer, "", "the dog ran.");
            assertThat(lines.get(7)).isEqualTo("line 2: %d tokens, %d trained", second.size(), second.size() - 1);
            assertThat(parse(lines.get(8))).isEqualTo(second);
            // An empty completion trains only EOS: shown, with the warning training gives.
            assertThat(lines.get(10)).startsWith("line 4: ")
                    .endsWith(", 1 trained; warning: no text trains, only special tokens (an empty completion or answer?)");
            assertThat(parse(lines.get(11))).isEqualTo(expected(tokenizer, "Say nothing.", ""));
        }
        assertThat(lines).hasSize(12);
    }

    @Test
    @DisplayName("a reward job: each pair's chosen and rejected sequences with their margin, a pair too long for seqLen marked as left out")
    void showsPairs() throws Exception {
        Files.writeString(dir.resolve("pairs.jsonl"), """
                {"prompt": "What is a cat?", "chosen": " A small animal.", "rejected": " A car.", "margin": 0.5}
                {"prompt": "Q", "chosen": " a long answer that does not fit in thirty-two tokens", "rejected": " no"}
                """);
        Files.writeString(dir.resolve("reward.yaml"), TinyJob.yaml(10, "out").replace("objective: {name: pretrain}",
                "objective: {name: reward}").replace("train: train.jsonl", "train: pairs.jsonl"));
        Run run = gradus("data", dir.resolve("reward.yaml").toString());
        assertThat(run.exit()).as(run.err()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines.getFirst()).startsWith("job tiny: objective reward ");
        assertThat(lines.get(1)).isEqualTo(dir.resolve("pairs.jsonl") + ": the first 2 records as the objective encodes them");
        try (HfTokenizer tokenizer = HfTokenizer.load(dir.resolve("base"))) {
            // TRL's standard format: BOS + prompt as context, the completion and EOS trained, for each of the two.
            List<Shown> chosen = expected(tokenizer, "What is a cat?", " A small animal.");
            List<Shown> rejected = expected(tokenizer, "What is a cat?", " A car.");
            assertThat(lines.subList(4, 9)).satisfiesExactly(
                    heading -> assertThat(heading).isEqualTo("line 1: 2 sequences trained together, margin 0.5"),
                    first -> assertThat(first).isEqualTo("sequence 1: %d tokens, %d trained", chosen.size(),
                            chosen.stream().filter(Shown::trained).count()),
                    tokens -> assertThat(parse(tokens)).isEqualTo(chosen),
                    second -> assertThat(second).isEqualTo("sequence 2: %d tokens, %d trained", rejected.size(),
                            rejected.stream().filter(Shown::trained).count()),
                    tokens -> assertThat(parse(tokens)).isEqualTo(rejected));
        }
        assertThat(lines.get(10)).isEqualTo("line 2: 2 sequences trained together; left out of training: a sequence is "
                + "longer than hyper.seqLen 32");
        assertThat(lines).hasSize(15);
    }

    @Test
    @DisplayName("the README's command, as written: with its options and without them")
    void readmeCommand() throws Exception {
        Map<String, String> placeholders = Map.of("job.yaml", dir.resolve("job.yaml").toString());
        Run plain = gradus(ReadmeCommands.gradus("./gradus data ", placeholders, false));
        assertThat(plain.exit()).as(plain.err()).isZero();
        assertThat(plain.out()).contains(dir.resolve("sft.jsonl") + ": the first 3 records as the objective encodes them");
        Run options = gradus(ReadmeCommands.gradus("./gradus data ", placeholders, true));
        assertThat(options.exit()).as(options.err()).isZero();
        assertThat(options.out()).contains(dir.resolve("eval.jsonl") + ": the first 3 records as the objective encodes them");
    }

    @Test
    @DisplayName("--color always marks trained tokens green and masked ones grey; --eval shows the held-out data")
    void colourAndEval() {
        Run run = gradus("data", dir.resolve("job.yaml").toString(), "--records", "1", "--eval", "--color", "always");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains(dir.resolve("eval.jsonl") + ": the first 1 record as the objective encodes them",
                "legend: \u001b[32mtoken(id)\u001b[0m trained, \u001b[90mtoken(id)\u001b[0m masked (no loss)",
                "\u001b[90m<|bos|>(259)\u001b[0m \u001b[32m", "\u001b[32m<|eos|>(260)\u001b[0m");
        assertThat(run.out()).doesNotContain("[<|eos|>");
    }

    @Test
    @DisplayName("misuse and bad files: one line naming the file and line or the option, no Java or Jackson text")
    void errors() throws Exception {
        Run zero = gradus("data", dir.resolve("job.yaml").toString(), "--records", "0");
        assertThat(zero.exit()).isEqualTo(2);
        assertThat(zero.err().lines()).containsExactly("gradus data: --records must be at least 1, was 0",
                "See 'gradus data --help'.");

        Files.writeString(dir.resolve("no-eval.yaml"), Files.readString(dir.resolve("job.yaml")).replace(", eval: eval.jsonl", ""));
        Run noEval = gradus("data", dir.resolve("no-eval.yaml").toString(), "--eval");
        assertThat(noEval.exit()).isEqualTo(2);
        assertThat(noEval.err()).startsWith("gradus data: --eval: the job names no held-out data (data.eval)");

        Files.writeString(dir.resolve("bad.jsonl"), "{\"text\": \"fine\"}\n[\"not\", \"a record\"]\n");
        Files.writeString(dir.resolve("bad.yaml"), Files.readString(dir.resolve("job.yaml")).replace("sft.jsonl", "bad.jsonl"));
        Run bad = gradus("data", dir.resolve("bad.yaml").toString());
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err().lines()).containsExactly("gradus data: " + dir.resolve("bad.jsonl")
                + ":2: a record must be a JSON object {...}, found an array");

        Files.writeString(dir.resolve("typo.yaml"), Files.readString(dir.resolve("job.yaml")).replace("seqLen", "seqLength"));
        Run typo = gradus("data", dir.resolve("typo.yaml").toString());
        assertThat(typo.exit()).isEqualTo(1);
        assertThat(typo.err()).contains("typo.yaml: line 6: unknown field 'seqLength' in 'hyper'; did you mean 'seqLen'?");
        assertThat(typo.err().lines()).hasSize(1);
        for (Run run : List.of(zero, noEval, bad, typo)) {
            CleanLoad.assertReadable(run.err());
        }
    }
}
