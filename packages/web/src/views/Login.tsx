import { useState, type FormEvent } from 'react';
import { api, setToken, type Me } from '../api.ts';

export function Login({ error, onSignedIn }: { error: string | null; onSignedIn: (me: Me) => void }) {
  const [token, setValue] = useState('');
  const [message, setMessage] = useState<string | null>(error);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setToken(token.trim());
    try {
      onSignedIn(await api<Me>('/dashboard/me'));
    } catch (err) {
      setToken(null);
      setMessage(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="login">
      <h1>Ringmaster</h1>
      <form onSubmit={(e) => void submit(e)} aria-describedby="login-help">
        <label htmlFor="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="off" required value={token} onChange={(e) => setValue(e.target.value)} />
        <p id="login-help" className="hint">Create one with <code>ringmaster token create --name you --role viewer</code>. It is kept in this tab only (session storage).</p>
        {message && <p className="error" role="alert">{message}</p>}
        <button type="submit" disabled={busy || !token.trim()}>Sign in</button>
      </form>
    </main>
  );
}
