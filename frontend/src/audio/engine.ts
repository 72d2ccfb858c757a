/**
 * One AudioContext for the whole app (microphone capture and playback), created on the first user
 * gesture that needs it, with both worklets loaded. The worklets are plain JS files in public/worklets/,
 * so they load the same way from the Vite dev server and from the built app.
 */

let ctx: AudioContext | null = null;
let ready: Promise<AudioContext> | null = null;

export function workletUrl(name: string): string {
  return `${import.meta.env.BASE_URL}worklets/${name}.js`;
}

export function audioSupported(): boolean {
  return typeof window !== 'undefined' && typeof window.AudioContext === 'function' && typeof AudioWorkletNode === 'function';
}

/** The shared context, running and with the worklets registered. Call it from a user gesture. */
export function getAudioContext(): Promise<AudioContext> {
  if (!audioSupported()) return Promise.reject(new Error('This browser has no Web Audio AudioWorklet support.'));
  if (!ready) {
    const context = new AudioContext({ latencyHint: 'interactive' });
    ctx = context;
    ready = Promise.all([
      context.audioWorklet.addModule(workletUrl('pcm-player')),
      context.audioWorklet.addModule(workletUrl('mic-capture')),
    ]).then(
      () => context,
      (err: unknown) => {
        ready = null;
        ctx = null;
        void context.close();
        throw new Error(`the audio worklets did not load (${err instanceof Error ? err.message : String(err)}); they are loaded again on your next click`);
      },
    );
  }
  const context = ctx;
  if (context && context.state === 'suspended') void context.resume();
  return ready;
}

export function currentAudioContext(): AudioContext | null {
  return ctx;
}
