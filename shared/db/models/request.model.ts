import { Model } from 'objection';

/** The durable outcome of one booking, cancel or confirm request. */
export class RequestOutcome extends Model {
  static tableName = 'requests';
  id!: string;
  user_id!: number;
  show_id!: number;
  type!: 'book' | 'cancel' | 'confirm';
  status!: 'completed' | 'failed';
  result!: unknown;
  error!: { code: string; message: string; details?: unknown } | null;
  created_at!: Date;
  finished_at!: Date;
}
