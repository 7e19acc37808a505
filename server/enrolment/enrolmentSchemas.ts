import { z } from 'zod';
import { cameraCategories, sharingModes } from '../catalog/CameraRecord.ts';
import { checkResults, enrolmentLanguages, enrolmentStatuses } from './EnrolmentRecord.ts';

/**
 * The REST shapes of the citizen program (issue 26). Public, no account:
 *   GET  /api/enrolment/agreement?lang=es-MX|en  -> AgreementView
 *   POST /api/enrolment                          EnrolmentSubmit -> 201 EnrolmentReceipt
 *        (the camera is checked first: a wrong password or an unreachable camera is answered
 *         422 unprocessable with details.check = 'unauthorized' | 'unreachable' and nothing is stored,
 *         except that `submitUnreachable: true` stores an unreachable camera all the same)
 *   GET   /api/enrolment/status      (header X-Status-Token)                 -> OwnerStatusView
 *   PATCH /api/enrolment/status      (header X-Status-Token) OwnerChange     -> OwnerStatusView
 *   POST  /api/enrolment/withdraw    (header X-Status-Token) OwnerWithdrawal -> OwnerStatusView
 * Admins:
 *   GET  /api/enrolments?status=pending,approved&offset&limit   -> ReviewList (oldest first)
 *   GET  /api/enrolments/{reference}                            -> ReviewItem
 *   POST /api/enrolments/{reference}/approve   ReviewApproval   -> ReviewItem
 *   POST /api/enrolments/{reference}/reject    ReviewRejection  -> ReviewItem
 *   POST /api/enrolments/{reference}/check                      -> ReviewItem (checked again now)
 *   POST /api/enrolments/{reference}/status-link                -> StatusLink (the old link stops working)
 * Errors: the usual { error: { code, message, details? } }; a validation error lists its fields in
 * details.issues ({ path: ['camera', 'url'], message }, parseOr400); a refused URL or check names
 * its field in details.field.
 */

const text = (max: number) => z.string().trim().min(1).max(max);
/** No control characters and none of a shell's metacharacters: these fields are names and words. */
const plain = (max: number) =>
  text(max).regex(/^[^\u0000-\u001f\u007f`$;|&<>\\{}]*$/u, 'letters, digits, spaces and ordinary punctuation only');
const point = z.strictObject({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) });

export const enrolmentLanguage = z.enum(enrolmentLanguages);
export const statusTokenHeader = 'x-status-token';
export const enrolmentReference = z.string().regex(/^ENR-[0-9A-HJKMNP-TV-Z]{8}$/, 'an enrolment reference (ENR- and 8 characters)');

/** An RTSP URL a stranger may submit: rtsp or rtsps, a host, no spaces or shell metacharacters. */
export const submittedUrl = z
  .string()
  .trim()
  .min(10)
  .max(512)
  .regex(/^rtsps?:\/\//i, 'an rtsp:// or rtsps:// URL')
  .regex(/^[^\s`$;|&<>\\{}'"]*$/u, 'no spaces, quotes or shell characters');

export const submittedCredentials = z.strictObject({
  username: z.string().min(1).max(64).regex(/^[^\u0000-\u001f\u007f:]*$/u, 'no control characters or ":"'),
  password: z.string().max(128).regex(/^[^\u0000-\u001f\u007f]*$/u, 'no control characters'),
});

export const enrolmentSubmitSchema = z
  .strictObject({
    language: enrolmentLanguage.default('es-MX'),
    owner: z.strictObject({ kind: z.enum(['organisation', 'person']), name: plain(120) }),
    contact: z
      .strictObject({
        email: z.string().trim().max(254).email('an e-mail address').optional(),
        phone: z.string().trim().regex(/^\+?[0-9 ()-]{7,20}$/, 'a phone number (7-20 digits, spaces, +, -, parentheses)').optional(),
      })
      .refine((contact) => contact.email !== undefined || contact.phone !== undefined, 'an e-mail address or a phone number'),
    address: plain(300),
    location: point,
    camera: z.strictObject({
      /** What the owner calls it ("Entrada principal"); the catalog name. */
      name: plain(80),
      url: submittedUrl,
      credentials: submittedCredentials.optional(),
      category: z.enum(cameraCategories),
    }),
    sharing: z.enum(sharingModes),
    agreement: z.strictObject({ version: z.string().min(1).max(40), accepted: z.literal(true, { message: 'the program agreement must be accepted' }) }),
    /** Store the enrolment although the camera did not answer now (it is checked again at review). */
    submitUnreachable: z.boolean().default(false),
  });

export const enrolmentReceiptSchema = z.object({
  reference: z.string(),
  /** Shown once: the owner's private status link's secret. */
  statusToken: z.string(),
  /** Relative: `/enrol/status#t=<statusToken>` (a fragment, so the token is never in a request line or a Referer). */
  statusPath: z.string(),
  check: z.object({ result: z.enum(checkResults) }),
  status: z.enum(enrolmentStatuses),
});

export const agreementQuerySchema = z.strictObject({ lang: enrolmentLanguage.default('es-MX') });
export const agreementViewSchema = z.object({ version: z.string(), language: enrolmentLanguage, title: z.string(), text: z.string() });

export const ownerChangeSchema = z
  .strictObject({
    sharing: z.enum(sharingModes),
    url: submittedUrl,
    /** null removes them. */
    credentials: submittedCredentials.nullable(),
    /** Keep a new URL or credentials although the camera did not answer now. */
    submitUnreachable: z.boolean(),
  })
  .partial()
  .refine((change) => Object.keys(change).some((key) => key !== 'submitUnreachable'), 'nothing to change');

export const ownerWithdrawalSchema = z.strictObject({ reason: plain(300).optional() });

export const ownerStatusViewSchema = z.object({
  reference: z.string(),
  status: z.enum(enrolmentStatuses),
  /** A rejection's, a revocation's or a suspension's reason, as the agency wrote it. */
  statusReason: z.string().optional(),
  /** The catalog camera's approval status (an approved camera may later be suspended or revoked by the agency). */
  cameraStatus: z.string().optional(),
  statusChangedAt: z.string(),
  submittedAt: z.string(),
  cameraName: z.string(),
  category: z.enum(cameraCategories),
  sharing: z.enum(sharingModes),
  /** Masked: `rtsp://***@host:port/path` when it has credentials. */
  url: z.string(),
  check: z.object({ result: z.enum(checkResults), at: z.string() }).optional(),
  agreementVersion: z.string(),
  language: enrolmentLanguage,
});

export const reviewQuerySchema = z.strictObject({
  status: z
    .string()
    .transform((value) => value.split(','))
    .pipe(z.array(z.enum(enrolmentStatuses)).min(1))
    .default(['pending'])
    .describe('comma-separated statuses (default pending)'),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const referenceParamSchema = z.strictObject({ reference: enrolmentReference });
export const reviewApprovalSchema = z.strictObject({
  municipality: text(100),
  /** The masked URL the reviewer saw: if the owner changed it since, nothing is approved (409). */
  url: z.string().max(600).optional(),
});
export const reviewRejectionSchema = z.strictObject({ reason: text(500) });

export const duplicateSchema = z.object({
  cameraCode: z.string(),
  /** 'enrolment': another citizen enrolment (its reference given); 'registered': a camera an administrator registered. */
  source: z.enum(['enrolment', 'registered']),
  reference: z.string().optional(),
  status: z.string().describe("the other camera's approval status"),
});

export const reviewItemSchema = z.object({
  reference: z.string(),
  cameraCode: z.string(),
  status: z.enum(enrolmentStatuses),
  statusReason: z.string().optional(),
  submittedAt: z.string(),
  statusChangedAt: z.string(),
  ownerKind: z.enum(['organisation', 'person']),
  /** Absent once erased (`erasedAt`). */
  personal: z.object({ ownerName: z.string(), email: z.string().optional(), phone: z.string().optional(), address: z.string() }).optional(),
  erasedAt: z.string().optional(),
  cameraName: z.string(),
  category: z.enum(cameraCategories),
  location: point,
  municipality: z.string().describe("the camera's municipality ('unassigned' until approved)"),
  sharing: z.enum(sharingModes),
  url: z.string().describe('masked: never carries credentials'),
  cameraStatus: z.string(),
  check: z.object({ result: z.enum(checkResults), at: z.string(), detail: z.string().optional(), video: z.object({ codec: z.string(), width: z.number().optional(), height: z.number().optional() }).optional() }).optional(),
  duplicates: z.array(duplicateSchema),
  agreementVersion: z.string(),
  language: enrolmentLanguage,
});

export const reviewListSchema = z.object({ items: z.array(reviewItemSchema), total: z.number().int(), offset: z.number().int(), limit: z.number().int() });
export const statusLinkSchema = z.object({ reference: z.string(), statusToken: z.string(), statusPath: z.string() });

export type EnrolmentSubmit = z.infer<typeof enrolmentSubmitSchema>;
export type EnrolmentReceipt = z.infer<typeof enrolmentReceiptSchema>;
export type OwnerChange = z.infer<typeof ownerChangeSchema>;
export type OwnerStatusView = z.infer<typeof ownerStatusViewSchema>;
export type ReviewItem = z.infer<typeof reviewItemSchema>;
export type AgreementView = z.infer<typeof agreementViewSchema>;
export type StatusLink = z.infer<typeof statusLinkSchema>;
