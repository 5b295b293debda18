// The Console's single-page app: built into dist/console-web (served by the NestJS backend-for-
// frontend, apps/console/src/main.ts). `vite` here serves it in development, proxying /api to a
// running Console (CONSOLE_DEV_API, default http://127.0.0.1:8480).
import react from '@vitejs/plugin-react';
import path from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  root: __dirname,
  plugins: [react()],
  build: {
    outDir: path.resolve(__dirname, '../../../dist/console-web'),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 600,
  },
  server: { proxy: { '/api': process.env['CONSOLE_DEV_API'] ?? 'http://127.0.0.1:8480' } },
});
