// quote.js — the server's quotes for buying and selling coins (GET /api/quote): what dollars buy, or what a payout of dollars takes, by the program's own rounding, asked while the resident types.

import { api } from "./api.js";

/** How long typing must pause before the server is asked. */
const PAUSE_MS = 150;

const ask = (side, usd) => api(`/api/quote?${new URLSearchParams({ side, usd })}`).then(
  (quote) => ({ quote }),
  (error) => ({ error }),
);

/**
 * Quotes of one side ("buy" or "sell") for dollar amounts as typed. `get(text)` gives the answer
 * when the server has given it for `text`; otherwise it asks, once typing pauses, and calls
 * `onAnswer` when the answer comes. Only the latest text counts: an answer for text the resident
 * has typed past is dropped, so a slow answer never replaces a newer one.
 */
export function quotes(side, onAnswer) {
  let asked = null; // the text being asked about (waiting for the pause, or in flight)
  let known = null; // { text, answer } of the latest answer
  let timer = null;

  return {
    /** { quote } or { error } (an ApiError) for `text`, or null while the server is asked. */
    get(text) {
      if (known && known.text === text) {
        const { answer } = known;
        // The server's verdict on the text stays; a failure to reach it is asked again next time.
        if (answer.error && answer.error.status !== 400) known = null;
        return answer;
      }
      if (asked === text) return null;
      asked = text;
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (asked !== text) return;
        const answer = await ask(side, text);
        if (asked !== text) return;
        asked = null;
        known = { text, answer };
        onAnswer();
      }, PAUSE_MS);
      return null;
    },
    /** The answer for `text` now (for a form being sent): the known one, or the server's at once. */
    async now(text) {
      if (known && known.text === text && known.answer.quote) return known.answer;
      return ask(side, text);
    },
  };
}
