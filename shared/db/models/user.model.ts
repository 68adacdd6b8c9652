import { Model } from 'objection';

export type Role = 'customer' | 'admin';

export class User extends Model {
  static tableName = 'users';
  id!: number;
  username!: string;
  email!: string;
  password_hash!: string;
  role!: Role;
  created_at!: Date;

  toPublic() {
    return { id: this.id, username: this.username, email: this.email };
  }
}
