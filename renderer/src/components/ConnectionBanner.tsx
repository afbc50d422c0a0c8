import { TOKEN_PARAM } from '../../../preload/wire.ts';
import { getStrataClient } from '../bridge/getStrataClient.ts';
import { useStrata } from '../store/useStrata.ts';

/** Browser host only: says when the page has no token or the socket is down. */
export function ConnectionBanner() {
  const connection = useStrata((s) => s.connection);
  const socket = getStrataClient().socket;
  if (!socket) return null;
  if (socket.missingToken) {
    return (
      <div className="banner banner-error" role="alert">
        This page has no access token. Open the full link that <code>strata serve</code> printed (it ends in{' '}
        <code>?{TOKEN_PARAM}=…</code>).
      </div>
    );
  }
  if (connection === 'open') return null;
  return (
    <div className="banner" role="status">
      {connection === 'connecting' ? 'Connecting to Strata…' : 'Lost the connection to Strata. Reconnecting…'}
    </div>
  );
}
