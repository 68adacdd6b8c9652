import { Model } from 'objection';
import { Show } from './show.model';

export type BookingStatus = 'booked' | 'held' | 'cancelled' | 'expired';
export const ACTIVE_STATUSES: BookingStatus[] = ['booked', 'held'];

export class Booking extends Model {
  static tableName = 'bookings';
  id!: number;
  user_id!: number;
  show_id!: number;
  seat_number!: number;
  status!: BookingStatus;
  request_id!: string;
  hold_expires_at!: Date | null;
  created_at!: Date;
  cancelled_at!: Date | null;
  show?: Show;

  static relationMappings = () => ({
    show: { relation: Model.BelongsToOneRelation, modelClass: Show, join: { from: 'bookings.show_id', to: 'shows.id' } },
  });
}
