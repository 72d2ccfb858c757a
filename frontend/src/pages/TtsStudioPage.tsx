import { useState } from 'react';
import { useAudioPlayer } from '../hooks/useAudioPlayer';
import { useCatalog } from '../hooks/useCatalog';
import { useTtsGeneration } from '../hooks/useTtsGeneration';
import { useTtsHistory } from '../hooks/useTtsHistory';
import { TtsForm, type TtsFormValues } from './tts/TtsForm';
import { TtsHistoryPanel } from './tts/TtsHistoryPanel';
import { TtsResultPanel } from './tts/TtsResultPanel';

export function TtsStudioPage() {
  const catalog = useCatalog();
  const player = useAudioPlayer();
  const history = useTtsHistory();
  const tts = useTtsGeneration(player, (g) => void history.add(g));
  const [values, setValues] = useState<TtsFormValues>({
    text: 'Hello! This is Mithivoices, speaking from your own machine.',
    language: '',
    voiceId: '',
    speed: 1,
    format: 'wav',
  });

  return (
    <section className="page tts-page" aria-labelledby="tts-title">
      <div className="page-head">
        <h1 id="tts-title">TTS studio</h1>
        <span className="muted small">Text to speech with the voices installed on this server</span>
      </div>
      <div className="studio-layout">
        <TtsForm
          catalog={catalog}
          values={values}
          onChange={(patch) => setValues((v) => ({ ...v, ...patch }))}
          phase={tts.phase}
          errorFor={tts.errorFor}
          playerStats={player.stats}
          playerError={player.error}
          onGenerate={() => void tts.generate(values)}
          onStop={tts.stop}
        />
        <TtsResultPanel
          result={tts.result}
          liveSamples={tts.liveSamples}
          busy={tts.busy}
          encoding={tts.phase === 'encoding' ? values.format : null}
          streamProgress={tts.streamProgress}
          onPlay={tts.detachStream}
        />
        <TtsHistoryPanel history={history} currentId={tts.result?.id ?? null} onShow={tts.show} />
      </div>
    </section>
  );
}
