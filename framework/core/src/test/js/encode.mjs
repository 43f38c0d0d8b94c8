// The reference side of HfTokenizerParityTest: reads {"family": "llama3_1", "texts": [...]} on
// standard input and prints, for each text, the ids and tokens of @lenml's JavaScript tokenizer
// (a fork of transformers.js) on that family's released tokenizer.json, without special tokens
// added, and the ids with them.
import { readFileSync } from "node:fs";

const request = JSON.parse(readFileSync(0, "utf8"));
const { fromPreTrained } = await import(`@lenml/tokenizer-${request.family}`);
const tokenizer = fromPreTrained();
const results = request.texts.map((text) => ({
  ids: tokenizer.encode(text, { add_special_tokens: false }),
  tokens: tokenizer.tokenize(text, { add_special_tokens: false }),
  idsWithSpecial: tokenizer.encode(text, { add_special_tokens: true }),
}));
process.stdout.write(JSON.stringify({ results }));
