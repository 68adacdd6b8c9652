/** Job payloads. The job name is the `type`; the job id is the request id. */
export interface BookJob {
  type: 'book';
  request_id: string;
  user_id: number;
  show_id: number;
  seats?: number[];
  quantity?: number;
  allow_split?: boolean;
  hold?: boolean;
  created_at: string;
  /** Fingerprint of what was asked; only requests with an Idempotency-Key carry one (to tell a replay from a reused key). */
  body_hash?: string;
}

export interface BookingActionJob {
  type: 'cancel' | 'confirm';
  request_id: string;
  user_id: number;
  show_id: number;
  booking_id: number;
  created_at: string;
  body_hash?: string;
}

/** Internal: release a hold when its time is up. */
export interface ExpireHoldJob {
  type: 'expire';
  show_id: number;
  hold_request_id: string;
}

export type ClientJob = BookJob | BookingActionJob;
export type AnyJob = ClientJob | ExpireHoldJob;
export type JobType = AnyJob['type'];
export const JOB_TYPES: JobType[] = ['book', 'cancel', 'confirm', 'expire'];

export interface JobError {
  code: string;
  message: string;
  details?: unknown;
}

/** A finished request as stored in Postgres and published to waiters. */
export interface Outcome {
  id: string;
  type: ClientJob['type'];
  show_id: number;
  user_id: number;
  status: 'completed' | 'failed';
  result: { bookings: unknown[]; expires_at?: string } | null;
  error: JobError | null;
  created_at: string;
  finished_at: string;
  available_seats?: number;
  replayed?: boolean;
}

/** Seats a book job asks for (used for the likely-sold-out estimate). */
export const seatsRequested = (job: BookJob) => job.seats?.length ?? job.quantity ?? 1;
