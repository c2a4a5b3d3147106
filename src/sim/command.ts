/** Placeholder until the simulator lands: `simulate` must exist and fail clearly. */
export async function runSimulateCommand(_argv: string[]): Promise<number> {
  process.stderr.write('simulate: not yet implemented\n');
  return 2;
}
