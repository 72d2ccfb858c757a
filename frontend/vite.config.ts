/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// Where the Mithivoices backend runs; `MITHI_BACKEND_URL=http://127.0.0.1:8765 npm run dev` to change it.
const backend = (process.env.MITHI_BACKEND_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');

const proxy = {
  '/api': { target: backend },
  '/v1': { target: backend },
  '/health': { target: backend },
  '/voice': { target: backend, ws: true },
};

export default defineConfig({
  // No @vitejs/plugin-react: esbuild compiles JSX with the automatic runtime.
  esbuild: { jsx: 'automatic' },
  server: { host: 'localhost', port: 5173, strictPort: true, proxy },
  preview: { host: '127.0.0.1', port: 4173, proxy },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
