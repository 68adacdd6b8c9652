import { Model } from 'objection';

export class Movie extends Model {
  static tableName = 'movies';
  id!: number;
  title!: string;
  duration_minutes!: number;
  description!: string;
  created_at!: Date;

  toPublic() {
    return { id: this.id, title: this.title, duration_minutes: this.duration_minutes, description: this.description };
  }
}
