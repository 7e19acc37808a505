// The simulator's API lives beside it (the server's demo mode uses it too).
export * from '../../scripts/camsim/Simulator.ts';
