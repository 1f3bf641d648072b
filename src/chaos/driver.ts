import { SimulatedSystem } from '../runtime/simulated.js';
import type { ActorSystem } from '../runtime/system.js';

/**
 * How an experiment lets time pass: under simulation it drives virtual time (and awaits promises
 * while doing so); on threads it simply waits on the wall clock. Experiments are written once,
 * against this.
 */
export interface Driver {
  readonly simulated: boolean;
  now(): number;
  wait(ms: number): Promise<void>;
  /** Await `promise`, letting time pass meanwhile. */
  drive<T>(promise: Promise<T>, maxMs?: number): Promise<T>;
}

export function driverFor(system: ActorSystem): Driver {
  if (system instanceof SimulatedSystem) {
    return {
      simulated: true,
      now: () => system.clock.now(),
      wait: (ms) => system.advance(ms),
      drive: (promise, maxMs) => system.drive(promise, maxMs),
    };
  }
  return {
    simulated: false,
    now: () => system.clock.now(),
    wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    drive: (promise) => promise,
  };
}

/** Polls `check` until it holds or `timeoutMs` passes (on the driver's clock). */
export async function waitUntil(driver: Driver, check: () => Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = driver.now() + timeoutMs;
  while (driver.now() < deadline) {
    if (await driver.drive(check())) return true;
    await driver.wait(stepMs);
  }
  return driver.drive(check());
}
