import { useEffect, useRef } from 'react';

interface Props {
  levelRef: React.RefObject<number>;
  active: boolean;
  label?: string;
}

/** Microphone level: reads the level ref every animation frame and paints it without re-rendering. */
export function LevelMeter({ levelRef, active, label = 'Microphone level' }: Props) {
  const barRef = useRef<HTMLDivElement>(null);
  const meterRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!active) {
      if (barRef.current) barRef.current.style.transform = 'scaleX(0)';
      meterRef.current?.setAttribute('aria-valuenow', '0');
      return;
    }
    let raf = 0;
    let shown = 0;
    let lastAria = 0;
    const tick = (t: number) => {
      const rms = levelRef.current ?? 0;
      // dBFS mapped to 0..1 over -60..0 dB, with a fast attack and slow release
      const db = rms > 0 ? 20 * Math.log10(rms) : -100;
      const target = Math.max(0, Math.min(1, (db + 60) / 60));
      shown = target > shown ? target : shown * 0.9 + target * 0.1;
      if (barRef.current) barRef.current.style.transform = `scaleX(${shown.toFixed(3)})`;
      if (t - lastAria > 500 && meterRef.current) {
        meterRef.current.setAttribute('aria-valuenow', String(Math.round(shown * 100)));
        lastAria = t;
      }
      raf = requestAnimationFrame(tick);
    };
    raf = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(raf);
  }, [active, levelRef]);
  return (
    <div ref={meterRef} className={`level-meter${active ? ' is-active' : ''}`} role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={0} data-testid="level-meter">
      <div ref={barRef} className="level-meter-bar" />
    </div>
  );
}
