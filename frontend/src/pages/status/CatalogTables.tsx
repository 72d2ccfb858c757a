import type { Language, Voice } from '../../api';
import { STT_KIND_LABEL, TTS_KIND_LABEL } from '../../lib/languages';

/** The installed voices and whether their engine is on. */
export function VoicesTable({ voices }: { voices: Voice[] }) {
  const missing = voices.filter((v) => !v.installed).length;
  return (
    <div className="panel">
      <h2>Installed voices</h2>
      <div className="table-wrap">
        <table data-testid="voices-table">
          <thead>
            <tr>
              <th scope="col">Voice</th>
              <th scope="col">Language</th>
              <th scope="col">Gender</th>
              <th scope="col">Quality</th>
              <th scope="col">Engine</th>
              <th scope="col">Rate</th>
              <th scope="col">Licence</th>
              <th scope="col">Usable</th>
            </tr>
          </thead>
          <tbody>
            {voices
              .filter((v) => v.installed)
              .map((v) => (
                <tr key={v.id}>
                  <th scope="row">
                    {v.name}
                    <div className="muted small mono">{v.id}</div>
                  </th>
                  <td>{v.locale}</td>
                  <td>{v.gender ?? '–'}</td>
                  <td>{v.quality}</td>
                  <td>{v.engine}</td>
                  <td>{v.sample_rate} Hz</td>
                  <td className="small">
                    {v.license}
                    {v.commercial_use === false && <span className="pill warn"> non-commercial</span>}
                  </td>
                  <td>
                    <span className={`pill ${v.available ? 'ok' : 'warn'}`}>{v.available ? 'yes' : 'engine off'}</span>
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
      {missing > 0 && <p className="muted small">{missing} more voices in the catalogue are not installed (python download_models.py --voices …).</p>}
    </div>
  );
}

/** The languages, whether they are enabled, their voices and speech-to-text support. */
export function LanguagesTable({ languages }: { languages: Language[] }) {
  return (
    <div className="panel">
      <h2>Languages</h2>
      <div className="table-wrap">
        <table data-testid="languages-table">
          <thead>
            <tr>
              <th scope="col">Language</th>
              <th scope="col">Enabled</th>
              <th scope="col">Voices</th>
              <th scope="col">Default voice</th>
              <th scope="col">Speech to text</th>
            </tr>
          </thead>
          <tbody>
            {languages.map((l) => (
              <tr key={l.code}>
                <th scope="row">
                  {l.name} <span className="muted">· {l.native_name}</span> <span className="muted mono">({l.code})</span>
                </th>
                <td>
                  <span className={`pill ${l.enabled ? 'ok' : 'muted-pill'}`}>{l.enabled ? 'yes' : 'no'}</span>
                </td>
                <td>
                  {l.voices_available} usable / {l.voices_installed} installed
                </td>
                <td>
                  <span className="mono">{l.default_voice ?? '–'}</span> <span className={`kind kind-${l.tts_kind}`}>{TTS_KIND_LABEL[l.tts_kind]}</span>
                </td>
                <td>
                  <span className={`kind kind-stt-${l.stt_kind}`}>{STT_KIND_LABEL[l.stt_kind]}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
