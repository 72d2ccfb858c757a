import { useEffect, useRef, useState } from 'react';
import { formatClock } from '../lib/subtitles';
import { Waveform } from './Waveform';

interface Props {
  /** a playable file (WAV) */
  playable: Blob | null;
  /** samples for the waveform, if already known (else decoded from `playable`) */
  samples: Float32Array | null;
  /** the file offered for download (may differ from `playable`: mp3, pcm, …) */
  download: { blob: Blob; filename: string } | null;
  /** shown while the download file is still being prepared */
  downloadPending?: string | null;
  streaming?: boolean;
  /** progress of playback that happens elsewhere (the streaming player), 0..1, shown on the waveform */
  externalProgress?: number | null;
  /** the user pressed play here (the page stops other playback) */
  onPlay?: () => void;
}

/** Waveform + play/pause/seek over an <audio> element, and a download link. */
export function AudioResultPlayer({ playable, samples, download, downloadPending, streaming, externalProgress, onPlay }: Props) {
  const audioRef = useRef<HTMLAudioElement>(null);
  const [url, setUrl] = useState<string | null>(null);
  const [downloadUrl, setDownloadUrl] = useState<string | null>(null);
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState(0);
  const [decoded, setDecoded] = useState<Float32Array | null>(null);

  useEffect(() => {
    if (!playable) {
      setUrl(null);
      return;
    }
    const u = URL.createObjectURL(playable);
    setUrl(u);
    setTime(0);
    setPlaying(false);
    return () => URL.revokeObjectURL(u);
  }, [playable]);

  // keyed on the blob itself: a new `download` object with the same blob must not revoke the link
  const downloadBlob = download?.blob ?? null;
  useEffect(() => {
    if (!downloadBlob) {
      setDownloadUrl(null);
      return;
    }
    const u = URL.createObjectURL(downloadBlob);
    setDownloadUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [downloadBlob]);

  // waveform of a file we only have as a blob (history items): decode it once
  useEffect(() => {
    setDecoded(null);
    if (samples || !playable) return;
    let cancelled = false;
    const ctx = new OfflineAudioContext(1, 1, 8000);
    playable
      .arrayBuffer()
      .then((buf) => ctx.decodeAudioData(buf))
      .then((audio) => {
        if (!cancelled) setDecoded(audio.getChannelData(0).slice());
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [playable, samples]);

  useEffect(() => {
    if (!playing) return;
    let raf = 0;
    const tick = () => {
      const a = audioRef.current;
      if (a) setTime(a.currentTime);
      raf = requestAnimationFrame(tick);
    };
    raf = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(raf);
  }, [playing]);

  const audio = audioRef.current;
  const total = duration || (audio && Number.isFinite(audio.duration) ? audio.duration : 0);
  const seekTo = (seconds: number) => {
    const a = audioRef.current;
    if (!a || !Number.isFinite(seconds)) return;
    a.currentTime = Math.max(0, Math.min(total || 0, seconds));
    setTime(a.currentTime);
  };

  return (
    <div className="result-player" data-testid="result-player">
      <Waveform
        samples={samples ?? decoded}
        progress={externalProgress ?? (total > 0 ? time / total : 0)}
        onSeek={playable ? (f) => seekTo(f * total) : undefined}
        label={streaming ? 'Waveform of the audio being generated' : 'Waveform of the generated audio'}
        testId="waveform"
      />
      <div className="transport">
        <button
          type="button"
          className="icon-button"
          disabled={!url}
          onClick={() => {
            const a = audioRef.current;
            if (!a) return;
            if (a.paused) {
              onPlay?.();
              void a.play().catch(() => undefined);
            }
            else a.pause();
          }}
          aria-label={playing ? 'Pause' : 'Play'}
          data-testid="play-pause"
        >
          {playing ? (
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
              <path d="M7 5h3v14H7zM14 5h3v14h-3z" fill="currentColor" />
            </svg>
          ) : (
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
              <path d="M8 5v14l11-7z" fill="currentColor" />
            </svg>
          )}
        </button>
        <label className="seek">
          <span className="visually-hidden">Seek</span>
          <input
            type="range"
            min={0}
            max={total || 0}
            step={0.01}
            value={Math.min(time, total || 0)}
            disabled={!url || total === 0}
            onChange={(e) => seekTo(Number(e.target.value))}
            aria-valuetext={`${formatClock(time)} of ${formatClock(total)}`}
          />
        </label>
        <span className="time" aria-hidden="true">
          {formatClock(time)} / {formatClock(total)}
        </span>
        {downloadUrl && download ? (
          <a className="button secondary" href={downloadUrl} download={download.filename} data-testid="download">
            Download
          </a>
        ) : downloadPending ? (
          <span className="muted small">{downloadPending}</span>
        ) : null}
      </div>
      {url && (
        <audio
          ref={audioRef}
          src={url}
          preload="metadata"
          onPlay={() => setPlaying(true)}
          onPause={() => setPlaying(false)}
          onEnded={() => setPlaying(false)}
          onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
          onLoadedMetadata={(e) => setDuration(Number.isFinite(e.currentTarget.duration) ? e.currentTarget.duration : 0)}
          onDurationChange={(e) => setDuration(Number.isFinite(e.currentTarget.duration) ? e.currentTarget.duration : 0)}
        />
      )}
    </div>
  );
}
