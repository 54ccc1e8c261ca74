// Injected time: monotonic microseconds. Shells read it; pure cores receive it.
export interface Clock {
  nowUs(): number;
}

export const systemClock: Clock = {
  nowUs: () => Number(process.hrtime.bigint() / 1000n),
};
