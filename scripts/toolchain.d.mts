export declare const projectRoot: string;
export declare function mediasoupVersion(): string;
export declare function osRelease(): string;
export declare function cacheRoot(): string;
export declare function workerCacheDir(): string;
export declare function workerBinPath(): string;
export declare function ffmpegPath(): string;
