/** Transcript segments → plain text, SubRip (.srt) and WebVTT (.vtt). */

export interface Segment {
  id?: number;
  start: number; // seconds
  end: number; // seconds
  text: string;
}

/** Seconds → HH:MM:SS,mmm (srt) or HH:MM:SS.mmm (vtt); rounded to the millisecond, never negative. */
export function formatTimestamp(seconds: number, separator: ',' | '.' = ','): string {
  const totalMs = Math.max(0, Math.round((Number.isFinite(seconds) ? seconds : 0) * 1000));
  const ms = totalMs % 1000;
  const totalS = Math.floor(totalMs / 1000);
  const s = totalS % 60;
  const m = Math.floor(totalS / 60) % 60;
  const h = Math.floor(totalS / 3600);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${p2(h)}:${p2(m)}:${p2(s)}${separator}${String(ms).padStart(3, '0')}`;
}

/** Short display form: M:SS.s (or H:MM:SS.s past an hour). */
export function formatClock(seconds: number): string {
  const t = Math.max(0, Number.isFinite(seconds) ? seconds : 0);
  const tenths = Math.round(t * 10);
  const h = Math.floor(tenths / 36000);
  const m = Math.floor(tenths / 600) % 60;
  const s = (tenths % 600) / 10;
  const ss = s.toFixed(1).padStart(4, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function clean(text: string): string {
  // a blank line would end the cue early
  return text.trim().replace(/\r\n?/g, '\n').replace(/\n{2,}/g, '\n');
}

export function toSrt(segments: Segment[]): string {
  return segments
    .filter((s) => clean(s.text) !== '')
    .map((s, i) => `${i + 1}\n${formatTimestamp(s.start, ',')} --> ${formatTimestamp(Math.max(s.end, s.start), ',')}\n${clean(s.text)}\n`)
    .join('\n');
}

export function toVtt(segments: Segment[]): string {
  const cues = segments
    .filter((s) => clean(s.text) !== '')
    .map((s) => `${formatTimestamp(s.start, '.')} --> ${formatTimestamp(Math.max(s.end, s.start), '.')}\n${clean(s.text).replace(/-->/g, '->')}\n`);
  return ['WEBVTT\n', ...cues].join('\n');
}

export function toText(segments: Segment[]): string {
  const text = segments.map((s) => s.text.trim()).filter(Boolean).join(' ');
  return text ? `${text}\n` : '';
}
