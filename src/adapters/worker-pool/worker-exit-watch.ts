import { messageOf } from '../../errors.js';

/**
 * Listens to a worker's end (a worker_threads Worker or a ChildProcess) for the worker pool adapters, without
 * changing what the emitter does: our listeners go first (prepended), so the pool's own handlers, which may destroy
 * the worker and announce it, run after poolscope has seen why it ended.
 */

/** The part of an EventEmitter (Worker, ChildProcess) the watch uses. */
export interface WorkerEmitterLike {
  prependListener(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  listenerCount(event: string): number;
}

export interface WorkerExitHandlers {
  /** The worker emitted 'error' (its message). */
  readonly onError: (message: string) => void;
  /** The worker exited (a Worker gives a code; a ChildProcess a code or a signal). */
  readonly onExit: (code: number | null, signal: string | null) => void;
  /** A handler threw: poolscope's own failure, for onError. */
  readonly onInternalError: (error: unknown) => void;
}

/** True when `value` has the listener methods the watch needs. */
export function isWorkerEmitter(value: unknown): value is WorkerEmitterLike {
  const candidate = value as Partial<WorkerEmitterLike> | null | undefined;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.prependListener === 'function' &&
    typeof candidate.removeListener === 'function' &&
    typeof candidate.listenerCount === 'function'
  );
}

/**
 * Watches `emitter` until it exits; returns the function that stops watching (idempotent). An 'error' listener is
 * added only when the emitter has one already (an 'error' without listeners must still throw as before), and if it
 * is ever left as the only one, it throws the error on, as the emit would have.
 */
export function watchWorkerExit(emitter: WorkerEmitterLike, handlers: WorkerExitHandlers): () => void {
  let watching = true;
  const onError = (error: unknown): void => {
    try {
      handlers.onError(messageOf(error));
    } catch (failure) {
      handlers.onInternalError(failure);
    }
    if (emitter.listenerCount('error') === 1) throw error;
  };
  const onExit = (code: unknown, signal: unknown): void => {
    stop();
    try {
      handlers.onExit(typeof code === 'number' ? code : null, typeof signal === 'string' ? signal : null);
    } catch (failure) {
      handlers.onInternalError(failure);
    }
  };
  const withError = emitter.listenerCount('error') > 0;
  if (withError) emitter.prependListener('error', onError as (...args: never[]) => void);
  emitter.prependListener('exit', onExit as (...args: never[]) => void);
  function stop(): void {
    if (!watching) return;
    watching = false;
    emitter.removeListener('exit', onExit as (...args: never[]) => void);
    // The 'error' listener stays until the exit (an error comes before it), then goes.
    if (withError) emitter.removeListener('error', onError as (...args: never[]) => void);
  }
  return stop;
}
