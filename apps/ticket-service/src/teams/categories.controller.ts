import { Body, ConflictException, Controller, Get, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CategoryRow, TeamRepository } from '@oq/database';
import { ApiErrors, ApiZodBody, ApiZodResponse, Parsed, ZodValidationPipe } from '@oq/platform';
import { z } from 'zod';
import { AdminOnly, AgentAuth } from '../auth/agent-auth.guard';
import { CategoryBody, CategoryView } from './teams.dto';

/**
 * The admin-managed ticket category list (seeded by the schema migration). Lives with
 * teams because both are small admin-owned reference lists agents pick from.
 */
@ApiTags('categories')
@Controller('v1/categories')
@AgentAuth()
export class CategoriesController {
  constructor(private readonly teams: TeamRepository) {}

  @Get()
  @ApiOperation({ summary: 'Every ticket category, by name' })
  @ApiZodResponse(200, z.array(CategoryView), 'The categories')
  list(): Promise<CategoryRow[]> {
    return this.teams.listCategories();
  }

  @Post()
  @AdminOnly()
  @ApiOperation({ summary: 'Add a ticket category' })
  @ApiZodBody(CategoryBody)
  @ApiZodResponse(201, CategoryView, 'The new category')
  @ApiErrors({ 409: 'A category with this name already exists' })
  create(@Body(new ZodValidationPipe(CategoryBody)) body: Parsed<typeof CategoryBody>): Promise<CategoryRow> {
    return this.teams.insertCategory(body.name).catch((err: { code?: string }) => {
      if (err.code === '23505') throw new ConflictException('a category with this name already exists');
      throw err;
    });
  }
}
