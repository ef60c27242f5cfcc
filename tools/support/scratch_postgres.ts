import pg from "pg";

/** Runs `fn` on a new connection to `url`, closed afterwards. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface ScratchDatabase {
  name: string;
  url: string;
  /** Drops it, ending any session still connected. */
  drop(): Promise<void>;
}

/**
 * A new, empty database called `name` on the server that `adminUrl` (a role
 * that may create databases) reaches, for one test or one benchmark run.
 */
export async function createScratchDatabase(adminUrl: string, name: string): Promise<ScratchDatabase> {
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}
