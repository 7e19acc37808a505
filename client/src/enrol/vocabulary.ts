import type { CameraCategory, SharingMode } from '../../../server/catalog/CameraRecord.ts';
import type { EnrolmentLanguage } from '../../../server/enrolment/EnrolmentRecord.ts';

// The page's own copies of the program's words (the server's modules stay out of the browser
// bundle: .dependency-cruiser.cjs client-rest-types-only), checked against the server's types.

export const cameraCategories = ['bank', 'hospital', 'religious', 'commercial', 'home', 'street', 'other'] as const satisfies readonly CameraCategory[];
export const sharingModes = ['live', 'incident-only'] as const satisfies readonly SharingMode[];
export const enrolmentLanguages = ['es-MX', 'en'] as const satisfies readonly EnrolmentLanguage[];

/** Compile-time: each list names every value of its type. */
type Covers<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : never;
export const VOCABULARY_COMPLETE: [Covers<CameraCategory, (typeof cameraCategories)[number]>, Covers<SharingMode, (typeof sharingModes)[number]>, Covers<EnrolmentLanguage, (typeof enrolmentLanguages)[number]>] = [true, true, true];
