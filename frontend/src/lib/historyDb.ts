/** TTS generations kept in the browser: metadata and audio blobs in IndexedDB (newest first, capped). */

import type { TtsFormat } from '../api';

export interface Generation {
  id: string;
  createdAt: number;
  text: string;
  voiceId: string;
  provider: string;
  language: string | null;
  speed: number;
  format: TtsFormat;
  sampleRate: number;
  duration: number;
  /** playable WAV */
  wav: Blob;
  /** the file in the requested format (same as `wav` for wav) */
  file: Blob;
  filename: string;
}

const DB = 'mithivoices';
const STORE = 'tts-history';
export const HISTORY_LIMIT = 20;

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') {
      reject(new Error('IndexedDB is not available'));
      return;
    }
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: 'id' }).createIndex('createdAt', 'createdAt');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB open failed'));
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export async function listGenerations(): Promise<Generation[]> {
  const db = await open();
  try {
    const tx = db.transaction(STORE, 'readonly');
    const req = tx.objectStore(STORE).getAll();
    await done(tx);
    return (req.result as Generation[]).sort((a, b) => b.createdAt - a.createdAt);
  } finally {
    db.close();
  }
}

export async function addGeneration(g: Generation): Promise<void> {
  const db = await open();
  try {
    const tx = db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    store.put(g);
    const keys = store.index('createdAt').getAllKeys();
    keys.onsuccess = () => {
      const all = keys.result;
      // getAllKeys on the index returns primary keys ordered by createdAt (oldest first)
      for (const key of all.slice(0, Math.max(0, all.length - HISTORY_LIMIT))) store.delete(key);
    };
    await done(tx);
  } finally {
    db.close();
  }
}

export async function deleteGeneration(id: string): Promise<void> {
  const db = await open();
  try {
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete(id);
    await done(tx);
  } finally {
    db.close();
  }
}

export async function clearGenerations(): Promise<void> {
  const db = await open();
  try {
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).clear();
    await done(tx);
  } finally {
    db.close();
  }
}
