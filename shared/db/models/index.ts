export { User, Role } from './user.model';
export { Movie } from './movie.model';
export { Show } from './show.model';
export { Booking, BookingStatus, ACTIVE_STATUSES } from './booking.model';
export { RequestOutcome } from './request.model';
