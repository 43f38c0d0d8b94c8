package io.gradus.plugin.ppo.internal;

import io.gradus.api.model.TokenBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * What one rollout collected: each prompt with its response and, per response token, what the PPO
 * epochs train on; and the order in which its micro-batches are handed out. Rows are laid out as the
 * model reads them, prompt then response, right-padded to T positions; response token t of a row
 * whose prompt has P tokens is predicted at position P − 1 + t, where its log-probability and its
 * value (the value of the state before it) are read.
 */
final class Rollout {

    /**
     * One prompt and its response, and their figures per response token (index t).
     *
     * @param index the prompt's record index in its data file
     */
    static final class Row {
        final int index;
        final int[] prompt;
        final int[] response;
        /** Whether the response ended with the stop token (EOS). */
        final boolean eos;
        /** The reward model's score, {@code missingEosPenalty} included. */
        double score;
        double[] logProbs;
        double[] refLogProbs;
        double[] values;
        double[] advantages;
        double[] returns;

        Row(int index, int[] prompt, int[] response, boolean eos) {
            this.index = index;
            this.prompt = prompt;
            this.response = response;
            this.eos = eos;
        }
    }

    final int iteration;
    final int seqLen;
    final int padId;
    final List<Row> rows;
    /** The micro-batches in the order they are handed out: each the row numbers it holds. */
    final List<int[]> schedule;
    /** The next micro-batch of {@link #schedule} to hand out. */
    int cursor;

    /**
     * @param iteration which rollout of the run this is (0 for the first), which seeds its epochs' orders
     * @param seqLen T, the positions of a row
     * @param padId the id after a row's tokens
     */
    Rollout(int iteration, int seqLen, int padId, List<Row> rows, List<int[]> schedule) {
        this.iteration = iteration;
        this.seqLen = seqLen;
        this.padId = padId;
        this.rows = rows;
        this.schedule = schedule;
    }

    /**
     * The order of {@code epochs} passes over {@code rows} rows, cut into micro-batches of
     * {@code rowsPerBatch}: each pass a fresh permutation (TRL's {@code np.random.permutation} per PPO
     * epoch), drawn from a seed of the job, the iteration and the epoch.
     */
    static List<int[]> schedule(long seed, int iteration, int rows, int epochs, int rowsPerBatch) {
        List<int[]> schedule = new ArrayList<>();
        for (int epoch = 0; epoch < epochs; epoch++) {
            int[] order = new int[rows];
            Arrays.setAll(order, i -> i);
            Random random = new Random(Seeds.of(seed, iteration, epoch));
            for (int i = rows - 1; i > 0; i--) { // Fisher–Yates
                int j = random.nextInt(i + 1);
                int swap = order[i];
                order[i] = order[j];
                order[j] = swap;
            }
            for (int start = 0; start < rows; start += rowsPerBatch) {
                schedule.add(Arrays.copyOfRange(order, start, Math.min(rows, start + rowsPerBatch)));
            }
        }
        return schedule;
    }

    /** Whether every micro-batch was handed out. */
    boolean consumed() {
        return cursor >= schedule.size();
    }

    /**
     * The rows {@code numbers} of {@code rows} as a batch: prompt + response, padded with
     * {@code padId}; each response token is the label of the position before it, everything else is
     * ignored; the group indices are the row numbers.
     */
    static TokenBatch batch(List<Row> rows, int[] numbers, int seqLen, int padId) {
        int b = numbers.length;
        int[] ids = new int[b * seqLen];
        int[] labels = new int[b * seqLen];
        int[] lengths = new int[b];
        Arrays.fill(ids, padId);
        Arrays.fill(labels, TokenBatch.IGNORE);
        for (int r = 0; r < b; r++) {
            Row row = rows.get(numbers[r]);
            int p = row.prompt.length;
            System.arraycopy(row.prompt, 0, ids, r * seqLen, p);
            System.arraycopy(row.response, 0, ids, r * seqLen + p, row.response.length);
            for (int t = 0; t < row.response.length; t++) {
                labels[r * seqLen + p - 1 + t] = row.response[t];
            }
            lengths[r] = p + row.response.length;
        }
        return new TokenBatch(b, seqLen, ids, labels, lengths, new TokenBatch.Groups(1, numbers.clone(), Map.of()));
    }

    /** The flat positions (b·T + P − 1 + t) where each response token of the rows {@code numbers} is predicted, row by row. */
    static int[] responsePositions(List<Row> rows, int[] numbers, int seqLen) {
        int count = 0;
        for (int number : numbers) {
            count += rows.get(number).response.length;
        }
        int[] positions = new int[count];
        int at = 0;
        for (int r = 0; r < numbers.length; r++) {
            Row row = rows.get(numbers[r]);
            for (int t = 0; t < row.response.length; t++) {
                positions[at++] = r * seqLen + row.prompt.length - 1 + t;
            }
        }
        return positions;
    }

    /** The rollout as JSON-ready state: everything its unconsumed micro-batches train on. */
    Map<String, Object> state() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("iteration", iteration);
        state.put("seq_len", seqLen);
        state.put("pad_id", padId);
        state.put("cursor", cursor);
        state.put("schedule", schedule);
        List<Map<String, Object>> saved = new ArrayList<>();
        for (Row row : rows) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("index", row.index);
            r.put("prompt", row.prompt);
            r.put("response", row.response);
            r.put("eos", row.eos);
            r.put("score", row.score);
            r.put("logprobs", row.logProbs);
            r.put("ref_logprobs", row.refLogProbs);
            r.put("values", row.values);
            r.put("advantages", row.advantages);
            r.put("returns", row.returns);
            saved.add(r);
        }
        state.put("rows", saved);
        return state;
    }

    /** The rollout {@link #state()} wrote, as parsed from JSON. */
    @SuppressWarnings("unchecked")
    static Rollout restore(Map<String, Object> state) {
        List<Row> rows = new ArrayList<>();
        for (Map<String, Object> r : (List<Map<String, Object>>) state.get("rows")) {
            Row row = new Row(((Number) r.get("index")).intValue(), ints(r.get("prompt")), ints(r.get("response")),
                    (Boolean) r.get("eos"));
            row.score = ((Number) r.get("score")).doubleValue();
            row.logProbs = doubles(r.get("logprobs"));
            row.refLogProbs = doubles(r.get("ref_logprobs"));
            row.values = doubles(r.get("values"));
            row.advantages = doubles(r.get("advantages"));
            row.returns = doubles(r.get("returns"));
            rows.add(row);
        }
        List<int[]> schedule = new ArrayList<>();
        for (Object batch : (List<Object>) state.get("schedule")) {
            schedule.add(ints(batch));
        }
        Rollout rollout = new Rollout(((Number) state.get("iteration")).intValue(), ((Number) state.get("seq_len")).intValue(),
                ((Number) state.get("pad_id")).intValue(), rows, schedule);
        rollout.cursor = ((Number) state.get("cursor")).intValue();
        return rollout;
    }

    @SuppressWarnings("unchecked")
    private static int[] ints(Object list) {
        return ((List<Number>) list).stream().mapToInt(Number::intValue).toArray();
    }

    @SuppressWarnings("unchecked")
    private static double[] doubles(Object list) {
        return ((List<Number>) list).stream().mapToDouble(Number::doubleValue).toArray();
    }
}
