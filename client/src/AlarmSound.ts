/**
 * The alarm's ring: generated tones (no audio file), a two-tone beep pattern (880 Hz then 660 Hz)
 * repeated while `ring(true)`. One AudioContext for the page, created with the console. Browsers
 * start it suspended until the user interacts with the page: any click, pointer press or key
 * press resumes it (the console shows a "Click to enable alarm sound" button meanwhile).
 *
 * The beeps are scheduled on the audio clock a little ahead (a timer tops up the schedule), so a
 * late timer does not make the pattern stutter; stopping cancels the beeps not yet played. Only
 * beeps scheduled while the context is running are counted (`beeps`, read by tests).
 */
import { Emitter } from './Emitter.ts';

export interface AlarmSoundEvents {
  /** The context's state changed (suspended, running, ...): the prompt follows. */
  state: [state: string];
}

/** One beep of the pattern: pitch, start from the pattern's start, length (seconds). */
const PATTERN: ReadonlyArray<{ hz: number; at: number; length: number }> = [
  { hz: 880, at: 0, length: 0.18 },
  { hz: 660, at: 0.24, length: 0.18 },
  { hz: 880, at: 0.48, length: 0.18 },
  { hz: 660, at: 0.72, length: 0.18 },
];
/** A pattern starts every this many seconds. */
const PATTERN_PERIOD_S = 1.6;
/** Beeps are scheduled this far ahead of the audio clock. */
const LOOKAHEAD_S = 0.8;
/** How often the schedule is topped up. */
const SCHEDULER_MS = 200;
const VOLUME = 0.35;
/** Attack and release of a beep (no click). */
const RAMP_S = 0.01;

export class AlarmSound extends Emitter<AlarmSoundEvents> {
  readonly #context: AudioContext | undefined;
  readonly #output: GainNode | undefined;
  #ringing = false;
  #beeps = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Audio-clock time at which the next pattern starts. */
  #nextPatternAt = 0;
  /** Oscillators scheduled and not yet ended (stopped at once when the ringing stops). */
  readonly #scheduled = new Set<OscillatorNode>();
  readonly #onGesture = (): void => this.enable();

  constructor(private readonly doc: Document = document) {
    super();
    const Context = typeof AudioContext === 'function' ? AudioContext : undefined;
    if (Context) {
      this.#context = new Context({ latencyHint: 'interactive' });
      this.#output = this.#context.createGain();
      this.#output.gain.value = VOLUME;
      this.#output.connect(this.#context.destination);
      this.#context.addEventListener('statechange', () => {
        if (this.#context?.state === 'running' && this.#ringing) this.#topUp();
        this.emit('state', this.state);
      });
    }
    // Capture: a handler that stops propagation further down must not keep the sound off.
    for (const type of ['pointerdown', 'click', 'keydown'] as const) this.doc.addEventListener(type, this.#onGesture, { capture: true });
  }

  /** suspended (waiting for a user gesture), running, closed, or 'unavailable' (no Web Audio). */
  get state(): string {
    return this.#context?.state ?? 'unavailable';
  }

  /** Whether the console should ask for a click to enable the sound. */
  get needsGesture(): boolean {
    const state = this.state;
    return state !== 'running' && state !== 'closed' && state !== 'unavailable';
  }

  get ringing(): boolean {
    return this.#ringing;
  }

  /** Beeps scheduled while the context was running. */
  get beeps(): number {
    return this.#beeps;
  }

  /** Resumes the context (call from a user gesture: browsers allow it then). */
  enable(): void {
    const context = this.#context;
    if (!context || context.state === 'running' || context.state === 'closed') return;
    context.resume().catch((error: unknown) => console.warn('the alarm sound could not be enabled', error));
  }

  /** Starts or stops the repeating pattern (idempotent). */
  ring(on: boolean): void {
    if (on === this.#ringing) return;
    this.#ringing = on;
    if (on) {
      this.#nextPatternAt = 0;
      this.#topUp();
      this.#timer = setInterval(() => this.#topUp(), SCHEDULER_MS);
    } else {
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#timer = undefined;
      this.#silence();
    }
  }

  /** Stops ringing and the gesture listeners; the context is closed (the page is leaving). */
  close(): void {
    this.ring(false);
    for (const type of ['pointerdown', 'click', 'keydown'] as const) this.doc.removeEventListener(type, this.#onGesture, { capture: true });
    void this.#context?.close().catch(() => undefined);
    this.removeAllListeners();
  }

  /** Schedules the patterns starting within the look-ahead (from now after a start or a suspension). */
  #topUp(): void {
    const context = this.#context;
    const output = this.#output;
    if (!context || !output || !this.#ringing || context.state !== 'running') return;
    const time = context.currentTime;
    if (this.#nextPatternAt < time) this.#nextPatternAt = time + 0.02;
    while (this.#nextPatternAt < time + LOOKAHEAD_S) {
      for (const beep of PATTERN) this.#beep(context, output, beep.hz, this.#nextPatternAt + beep.at, beep.length);
      this.#nextPatternAt += PATTERN_PERIOD_S;
    }
  }

  #beep(context: AudioContext, output: GainNode, hz: number, at: number, length: number): void {
    const oscillator = context.createOscillator();
    oscillator.type = 'square';
    oscillator.frequency.value = hz;
    const envelope = context.createGain();
    envelope.gain.setValueAtTime(0, at);
    envelope.gain.linearRampToValueAtTime(1, at + RAMP_S);
    envelope.gain.setValueAtTime(1, at + length - RAMP_S);
    envelope.gain.linearRampToValueAtTime(0, at + length);
    oscillator.connect(envelope).connect(output);
    oscillator.addEventListener('ended', () => {
      this.#scheduled.delete(oscillator);
      envelope.disconnect();
    });
    oscillator.start(at);
    oscillator.stop(at + length);
    this.#scheduled.add(oscillator);
    this.#beeps++;
  }

  /** Cancels the beeps not played yet. */
  #silence(): void {
    for (const oscillator of this.#scheduled) {
      try {
        oscillator.stop();
      } catch {
        // Already stopped.
      }
      oscillator.disconnect();
    }
    this.#scheduled.clear();
  }
}
