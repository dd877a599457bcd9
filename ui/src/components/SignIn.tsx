import { type FormEvent, useEffect, useRef, useState } from "react";
import { ApiError, createApi } from "../api/client";
import { EXPIRED_TOKEN, INVALID_NOTICE, refusal } from "../lib/token";

interface Props {
  apiBaseUrl: string;
  notice: string | null;
  /** A token from a #token= link: fills the field and is checked at once. */
  offered?: string | null;
  onSignIn: (token: string) => void;
}

/** "Bearer token": checked against the shim before the panel opens. */
export function SignIn({ apiBaseUrl, notice, offered, onSignIn }: Props) {
  const [token, setToken] = useState(offered ?? "");
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  const check = async (candidate: string) => {
    setChecking(true);
    try {
      await createApi({ baseUrl: apiBaseUrl, getToken: () => candidate }).workflows();
      onSignIn(candidate);
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? refusal(failure.problem?.detail, candidate) === "expired"
            ? EXPIRED_TOKEN
            : INVALID_NOTICE
          : `Could not reach the shim: ${(failure as Error).message}`,
      );
    } finally {
      setChecking(false);
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void check(token.trim());
  };

  const checkedOffer = useRef(false);
  useEffect(() => {
    if (offered && !checkedOffer.current) {
      checkedOffer.current = true;
      void check(offered.trim());
    }
  });

  return (
    <form className="sign-in" onSubmit={submit} aria-labelledby="mtp-sign-in">
      <h2 id="mtp-sign-in">Sign in</h2>
      {notice ? <p role="alert">{notice}</p> : null}
      <div className="field-row">
        <label htmlFor="mtp-token">Bearer token</label>
        <input
          id="mtp-token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          aria-describedby="mtp-token-help mtp-token-error"
          aria-invalid={error !== null}
          onChange={(event) => {
            setToken(event.target.value);
            setError(null);
          }}
        />
        <p id="mtp-token-help" className="hint">
          A JWT for the shim. On a development machine, <code>make run</code> prints one for{" "}
          <code>demo-user</code>; <code>.venv/bin/manual-trigger token --user NAME</code> mints
          another. It is kept in this tab only.
        </p>
        <p id="mtp-token-error" className="text-danger">
          {error}
        </p>
      </div>
      <button type="submit" disabled={!token.trim() || checking}>
        Sign in
      </button>
    </form>
  );
}
