import type { Clock } from './ports.js';

export const systemClock: Clock = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};
