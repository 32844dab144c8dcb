import { Module } from '@nestjs/common';
import { CategoriesController } from './categories.controller';
import { TeamsController } from './teams.controller';
import { TeamsService } from './teams.service';

@Module({ controllers: [TeamsController, CategoriesController], providers: [TeamsService] })
export class TeamsModule {}
