import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AgentRepository } from '@oq/database';
import { TestDatabase, testServiceEnv } from '@oq/database/testing/test-env';
import { createHttpApp } from '@oq/platform';
import { DataSource } from 'typeorm';
import { hashPassword } from './password';

/** Test helpers: an agent row straight in the database, and a token through the real login endpoint. */
export const TEST_PASSWORD = 'correct horse battery';
let cachedHash: Promise<string> | undefined;

export async function insertAgent(
  ds: DataSource,
  email: string,
  role: 'admin' | 'agent' = 'agent',
  teamIds: string[] = [],
): Promise<string> {
  cachedHash ??= hashPassword(TEST_PASSWORD);
  const agents = new AgentRepository(ds);
  const id = await agents.insert({ email, name: email, passwordHash: await cachedHash, role });
  await agents.addTeams(id, teamIds);
  return id;
}

export async function loginToken(base: string, email: string, password = TEST_PASSWORD): Promise<string> {
  const res = await fetch(`${base}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login ${email} failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/**
 * fetch with a bearer token and JSON body; returns status and parsed body. The body is `any` on
 * purpose: specs assert on whatever shape the endpoint answers (a spec-only helper).
 */
export async function call(
  base: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export interface TestInstance {
  app: NestFastifyApplication;
  base: string;
  ds: DataSource;
}

/** A ticket-service on a free port against the given test database and queue prefix. */
export async function startTicketService(
  db: TestDatabase,
  prefix: string,
  extra: Record<string, string> = {},
): Promise<TestInstance> {
  // Imported lazily: the app module pulls in every feature, which helpers like insertAgent do not need.
  const { AppModule } = await import('../app.module');
  const app = await createHttpApp(AppModule, { title: 'ticket-service', env: testServiceEnv(db, prefix, extra) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: await app.getUrl(), ds: app.get(DataSource) };
}
