import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter } from 'react-router';
import { NavigationBinding } from './navigation.ts';
import { queryClient } from './query.ts';
import { Pages } from './routes.tsx';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <NavigationBinding />
        <Pages />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
