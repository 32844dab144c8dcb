/**
 * A Dovecot configuration serving plaintext IMAP on one port (loopback unless `host` says otherwise) from a directory of its
 * own (config, state, passwd-file, maildirs): the demo's mailbox (demo/mail/dovecot.ts) and the
 * test suite's throwaway servers (test/support/dovecot.ts) both run Dovecot this way.
 * As root Dovecot drops to its `dovecot` user for mail access; as another user it runs as that user.
 */
export function dovecotConfig(opts: { dir: string; port: number; user: string | null; host?: string }): string {
  const host = opts.host ?? '127.0.0.1';
  const d = opts.dir;
  const users = opts.user
    ? `default_internal_user = ${opts.user}\ndefault_login_user = ${opts.user}\nmail_uid = ${opts.user}\nmail_gid = ${opts.user}`
    : `default_internal_user = dovecot\ndefault_login_user = dovenull\nmail_uid = dovecot\nmail_gid = dovecot`;
  const owner = opts.user ?? 'dovecot';
  return `
protocols = imap
listen = ${host}
base_dir = ${d}/run
state_dir = ${d}/state
log_path = ${d}/dovecot.log
info_log_path = ${d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
${users}
mail_location = maildir:${d}/mail/%u
first_valid_uid = 1
mail_max_userip_connections = 100
imap_idle_notify_interval = 2 mins
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${d}/passwd
}
userdb {
  driver = static
  args = uid=${owner} gid=${owner} home=${d}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = ${host}
    port = ${opts.port}
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
`;
}

/** passwd-file lines (PLAIN scheme: the demo's and the tests' passwords are not secrets worth hashing). */
export function dovecotPasswd(users: Iterable<[string, string]>): string {
  return [...users].map(([u, p]) => `${u}:{PLAIN}${p}::::::`).join('\n') + '\n';
}
