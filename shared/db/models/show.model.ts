import { Model } from 'objection';
import { Movie } from './movie.model';

export class Show extends Model {
  static tableName = 'shows';
  id!: number;
  movie_id!: number;
  screen_name!: string;
  date_time!: Date;
  total_seats!: number;
  row_lengths!: number[];
  max_seats_per_user!: number;
  sales_open_at!: Date | null;
  shuffle_seed!: number;
  active_seats!: number;
  created_at!: Date;
  movie?: Movie;

  static relationMappings = () => ({
    movie: { relation: Model.BelongsToOneRelation, modelClass: Movie, join: { from: 'shows.movie_id', to: 'movies.id' } },
  });

  get available_seats(): number {
    return this.total_seats - this.active_seats;
  }
}
