export default async function globalTeardown() {
  // Each test file drops its own database and queue keys; nothing shared to undo.
}
