package io.gradus.api.generation;

import java.util.Objects;

/**
 * One generated token.
 *
 * @param index its position among the new tokens, from 0
 * @param id its id in the model's vocabulary
 * @param text the text it completes: what the continuation's decoded text gained with it (empty
 *     while a character spread over several byte tokens is not complete, then the whole character)
 */
public record GeneratedToken(int index, int id, String text) {

    public GeneratedToken {
        Objects.requireNonNull(text, "text");
    }
}
