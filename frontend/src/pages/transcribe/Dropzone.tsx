import { useState, type DragEvent } from 'react';

interface Props {
  maxUploadMb: number;
  onFile(file: File | undefined): void;
}

/** Drop an audio file, or choose one (the label is the keyboard-reachable file button). */
export function Dropzone({ maxUploadMb, onFile }: Props) {
  const [dragging, setDragging] = useState(false);

  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setDragging(false);
    onFile(e.dataTransfer.files[0]);
  };

  return (
    <div
      className={`dropzone${dragging ? ' is-dragging' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
      data-testid="dropzone"
    >
      <p>Drop an audio file here</p>
      <p className="muted small">wav, mp3, ogg/opus, webm, m4a, flac… up to {maxUploadMb} MB</p>
      <input
        id="stt-file"
        className="visually-hidden"
        type="file"
        accept="audio/*,video/webm,.wav,.mp3,.ogg,.opus,.webm,.m4a,.flac,.aac"
        onChange={(e) => {
          onFile(e.target.files?.[0]);
          e.target.value = '';
        }}
        data-testid="stt-file"
      />
      <label className="button secondary" htmlFor="stt-file">
        Choose a file
      </label>
    </div>
  );
}
