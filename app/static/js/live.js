// live.js — the pages' live data: a poll every 2 s that never lets a stale answer overwrite a newer one, and memo() to re-render only what changed.

const POLL_MS = 2000;

/**
 * Live data: polls `load` every 2 s and hands the answer to `render`. A poll is skipped while
 * another request is in flight; an answer that started before an action or a refresh is dropped,
 * so a stale read never overwrites a newer one.
 */
export function live(load, render, onError) {
  let busy = false;
  let again = false;
  let actions = 0;
  let version = 0;
  let timer = null;

  async function poll() {
    if (busy || actions > 0) return;
    busy = true;
    const started = version;
    try {
      const data = await load();
      if (started === version) {
        render(data);
        onError(null);
      }
    } catch (error) {
      if (started === version) onError(error);
    } finally {
      busy = false;
      if (again) {
        again = false;
        poll();
      }
    }
  }

  return {
    start() {
      poll();
      timer = setInterval(() => {
        if (!document.hidden) poll();
      }, POLL_MS);
      document.addEventListener("visibilitychange", () => {
        if (!document.hidden) poll();
      });
    },
    /** Reads again now, dropping the answer of any poll already in flight. */
    refresh() {
      version++;
      if (busy) again = true;
      else poll();
    },
    /** Runs `fn` (a request) with polling held; resolves to its result. */
    async action(fn) {
      actions++;
      version++;
      try {
        return await fn();
      } finally {
        actions--;
        version++;
      }
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** Only re-renders a part when its data changed, so focus and selection survive the 2 s polls. */
export function memo() {
  const seen = new Map();
  return (key, value) => {
    const json = JSON.stringify(value);
    if (seen.get(key) === json) return false;
    seen.set(key, json);
    return true;
  };
}
