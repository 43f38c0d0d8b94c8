// The reference side of the tokenizer parity tests (io.gradus.core.testing.JsTokenizers): reads
// {"family": "llama3_1", "texts": [...], "chats": [{"messages": [...], "addGenerationPrompt": false}]}
// on standard input and prints, for each text, the ids and tokens of @lenml's JavaScript tokenizer
// (a fork of transformers.js) on that family's released tokenizer.json, without special tokens
// added, and the ids with them; for each chat, the family's chat template rendered by that
// library's own Jinja interpreter and its ids and tokens, as apply_chat_template gives them
// (tokenized without adding special tokens).
import { readFileSync } from "node:fs";

const request = JSON.parse(readFileSync(0, "utf8"));
const { fromPreTrained } = await import(`@lenml/tokenizer-${request.family}`);
const tokenizer = fromPreTrained();
const results = (request.texts ?? []).map((text) => ({
  ids: tokenizer.encode(text, { add_special_tokens: false }),
  tokens: tokenizer.tokenize(text, { add_special_tokens: false }),
  idsWithSpecial: tokenizer.encode(text, { add_special_tokens: true }),
}));
const chats = (request.chats ?? []).map(({ messages, addGenerationPrompt }) => {
  const options = { add_generation_prompt: addGenerationPrompt };
  const text = tokenizer.apply_chat_template(messages, { ...options, tokenize: false });
  return {
    text,
    ids: Array.from(tokenizer.apply_chat_template(messages, { ...options, tokenize: true, return_tensor: false })),
    tokens: tokenizer.tokenize(text, { add_special_tokens: false }),
  };
});
process.stdout.write(JSON.stringify({ results, chats }));
