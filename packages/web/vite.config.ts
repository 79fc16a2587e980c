import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The bundle goes to build/, which `ringmaster serve` serves; the dev server proxies the API to a
// locally running `ringmaster serve` (RINGMASTER_URL, default port 7420).
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'build', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 600 },
  server: { proxy: { '/api': process.env.RINGMASTER_URL ?? 'http://127.0.0.1:7420' } },
});
